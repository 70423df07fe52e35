// SPDX-License-Identifier: GPL-2.0
/*
 * Capstone to struct soft_insn: the operands the interpreter needs, with
 * registers as gpr indexes and branch targets relative to the next
 * instruction.
 */
#include <pthread.h>
#include <capstone/capstone.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/soft/decode.h"

struct soft_decoder {
	csh handle;
	cs_insn *insn;
};

#define R(x) (uint8_t)((x) + 1) /* 0 in the table means "not a gpr" */
#define H(x) (uint8_t)(((x) | SOFT_REG_HIGH8) + 1)

/* x86_reg to gpr index + 1 (| SOFT_REG_HIGH8 for ah..bh); RIP maps to SOFT_REG_RIP. */
static const uint8_t gpr_of[X86_REG_ENDING] = {
	[X86_REG_AL] = R(0),	[X86_REG_CL] = R(1),	[X86_REG_DL] = R(2),
	[X86_REG_BL] = R(3),	[X86_REG_AH] = H(0),	[X86_REG_CH] = H(1),
	[X86_REG_DH] = H(2),	[X86_REG_BH] = H(3),	[X86_REG_SPL] = R(4),
	[X86_REG_BPL] = R(5),	[X86_REG_SIL] = R(6),	[X86_REG_DIL] = R(7),
	[X86_REG_R8B] = R(8),	[X86_REG_R9B] = R(9),	[X86_REG_R10B] = R(10),
	[X86_REG_R11B] = R(11), [X86_REG_R12B] = R(12), [X86_REG_R13B] = R(13),
	[X86_REG_R14B] = R(14), [X86_REG_R15B] = R(15), [X86_REG_AX] = R(0),
	[X86_REG_CX] = R(1),	[X86_REG_DX] = R(2),	[X86_REG_BX] = R(3),
	[X86_REG_SP] = R(4),	[X86_REG_BP] = R(5),	[X86_REG_SI] = R(6),
	[X86_REG_DI] = R(7),	[X86_REG_R8W] = R(8),	[X86_REG_R9W] = R(9),
	[X86_REG_R10W] = R(10), [X86_REG_R11W] = R(11), [X86_REG_R12W] = R(12),
	[X86_REG_R13W] = R(13), [X86_REG_R14W] = R(14), [X86_REG_R15W] = R(15),
	[X86_REG_EAX] = R(0),	[X86_REG_ECX] = R(1),	[X86_REG_EDX] = R(2),
	[X86_REG_EBX] = R(3),	[X86_REG_ESP] = R(4),	[X86_REG_EBP] = R(5),
	[X86_REG_ESI] = R(6),	[X86_REG_EDI] = R(7),	[X86_REG_R8D] = R(8),
	[X86_REG_R9D] = R(9),	[X86_REG_R10D] = R(10), [X86_REG_R11D] = R(11),
	[X86_REG_R12D] = R(12), [X86_REG_R13D] = R(13), [X86_REG_R14D] = R(14),
	[X86_REG_R15D] = R(15), [X86_REG_RAX] = R(0),	[X86_REG_RCX] = R(1),
	[X86_REG_RDX] = R(2),	[X86_REG_RBX] = R(3),	[X86_REG_RSP] = R(4),
	[X86_REG_RBP] = R(5),	[X86_REG_RSI] = R(6),	[X86_REG_RDI] = R(7),
	[X86_REG_R8] = R(8),	[X86_REG_R9] = R(9),	[X86_REG_R10] = R(10),
	[X86_REG_R11] = R(11),	[X86_REG_R12] = R(12),	[X86_REG_R13] = R(13),
	[X86_REG_R14] = R(14),	[X86_REG_R15] = R(15),	[X86_REG_RIP] = R(SOFT_REG_RIP),
};

static bool is_32bit_reg(x86_reg reg)
{
	return (reg >= X86_REG_EAX && reg <= X86_REG_ESP) ||
	       (reg >= X86_REG_R8D && reg <= X86_REG_R15D) || reg == X86_REG_EIP;
}

/* The gpr of @reg, SOFT_REG_NONE for none, or -1 for a register we do not model. */
static int map_reg(x86_reg reg)
{
	if (reg == X86_REG_INVALID)
		return SOFT_REG_NONE;
	if (reg == X86_REG_EIP)
		return SOFT_REG_RIP;
	if (reg < 0 || reg >= X86_REG_ENDING || !gpr_of[reg])
		return -1;
	return gpr_of[reg] - 1;
}

/* Pairs in x86 condition-code order: O NO B AE E NE BE A S NS P NP L GE LE G. */
static const uint16_t jcc[16] = { X86_INS_JO, X86_INS_JNO, X86_INS_JB,	X86_INS_JAE,
				  X86_INS_JE, X86_INS_JNE, X86_INS_JBE, X86_INS_JA,
				  X86_INS_JS, X86_INS_JNS, X86_INS_JP,	X86_INS_JNP,
				  X86_INS_JL, X86_INS_JGE, X86_INS_JLE, X86_INS_JG };

static int condition_code(unsigned int id)
{
	static const uint16_t setcc[16] = { X86_INS_SETO,  X86_INS_SETNO, X86_INS_SETB,
					    X86_INS_SETAE, X86_INS_SETE,  X86_INS_SETNE,
					    X86_INS_SETBE, X86_INS_SETA,  X86_INS_SETS,
					    X86_INS_SETNS, X86_INS_SETP,  X86_INS_SETNP,
					    X86_INS_SETL,  X86_INS_SETGE, X86_INS_SETLE,
					    X86_INS_SETG };
	static const uint16_t cmovcc[16] = { X86_INS_CMOVO,  X86_INS_CMOVNO, X86_INS_CMOVB,
					     X86_INS_CMOVAE, X86_INS_CMOVE,  X86_INS_CMOVNE,
					     X86_INS_CMOVBE, X86_INS_CMOVA,  X86_INS_CMOVS,
					     X86_INS_CMOVNS, X86_INS_CMOVP,  X86_INS_CMOVNP,
					     X86_INS_CMOVL,  X86_INS_CMOVGE, X86_INS_CMOVLE,
					     X86_INS_CMOVG };
	int cc;

	for (cc = 0; cc < 16; cc++)
		if (jcc[cc] == id || setcc[cc] == id || cmovcc[cc] == id)
			return cc;
	return -1;
}

static bool is_branch(unsigned int id)
{
	int cc;

	if (id == X86_INS_JMP || id == X86_INS_CALL || id == X86_INS_JRCXZ || id == X86_INS_JECXZ)
		return true;
	for (cc = 0; cc < 16; cc++)
		if (jcc[cc] == id)
			return true;
	return false;
}

/*
 * Fill @op from Capstone's; false if it uses something we do not model
 * (ymm...).  A segment override is the prefix's (scan_prefixes()).
 * @addr32: the instruction has a 0x67 prefix (from the bytes).
 */
static bool convert_operand(const cs_x86_op *cop, const cs_insn *ci, unsigned int id, bool addr32,
			    struct soft_operand *op)
{
	int r;

	memset(op, 0, sizeof(*op));
	op->size = cop->size;
	switch (cop->type) {
	case X86_OP_REG:
		if (id == X86_INS_MOV && cop->reg >= X86_REG_CR0 && cop->reg <= X86_REG_CR15) {
			op->type = SOFT_OP_CR;
			op->reg = cop->reg - X86_REG_CR0;
			return true;
		}
		if (cop->reg >= X86_REG_XMM0 && cop->reg <= X86_REG_XMM15) {
			op->type = SOFT_OP_XMM;
			op->reg = cop->reg - X86_REG_XMM0;
			return true;
		}
		r = map_reg(cop->reg);
		if (r < 0 || r == SOFT_REG_NONE || r == SOFT_REG_RIP)
			return false;
		op->type = SOFT_OP_REG;
		op->reg = r;
		return true;
	case X86_OP_IMM:
		op->type = SOFT_OP_IMM;
		op->val = cop->imm;
		/* Capstone gives branch targets absolute; keep them relative. */
		if (is_branch(id))
			op->val = (int64_t)((uint64_t)cop->imm - (ci->address + ci->size));
		return true;
	case X86_OP_MEM:
		op->type = SOFT_OP_MEM;
		r = map_reg(cop->mem.base);
		if (r < 0)
			return false;
		op->base = r;
		r = map_reg(cop->mem.index);
		if (r < 0 || r == SOFT_REG_RIP)
			return false;
		op->index = r;
		op->scale = cop->mem.scale;
		op->val = cop->mem.disp;
		op->addr32 = addr32 || is_32bit_reg(cop->mem.base) || is_32bit_reg(cop->mem.index);
		return true;
	default:
		return false;
	}
}

/*
 * Where a legacy prefix goes in the order Capstone 4 understands (the
 * mandatory-prefix candidates last; see sort_prefixes()), or -1 for a byte
 * that is not one.
 */
static int prefix_group(uint8_t b)
{
	switch (b) {
	case 0xf2:
	case 0xf3:
		return 4;
	case 0x66:
		return 3;
	case 0x67:
		return 2;
	case 0xf0:
		return 1;
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e:
	case 0x64:
	case 0x65:
		return 0; /* segment overrides */
	default:
		return -1;
	}
}

bool soft_is_prefix(uint8_t b)
{
	return prefix_group(b) >= 0 || (b & 0xf0) == 0x40;
}

/*
 * The legacy prefixes, from the bytes, in any order: Capstone 4 drops a
 * repne before movsd (it takes F2 A5 for the SSE movsd's prefix), and
 * names 66 F3 A5 (rep movsw as gas encodes it) movsd.  The last of F2/F3
 * wins, as on the hardware, and so does the last segment override: in
 * 64-bit mode ES, CS, SS and DS have base 0, so only FS and GS count.
 * @rex gets the REX byte that follows them (the last of several), and
 * @opcode the first opcode byte.
 */
static uint8_t scan_prefixes(const uint8_t *b, unsigned int len, uint8_t *rex, uint8_t *opcode)
{
	uint8_t pfx = 0;
	unsigned int i;

	for (i = 0; i < len && prefix_group(b[i]) >= 0; i++) {
		switch (b[i]) {
		case 0xf0:
			pfx |= SOFT_PFX_LOCK;
			break;
		case 0xf2:
			pfx = (pfx & ~SOFT_PFX_REP) | SOFT_PFX_REPNE;
			break;
		case 0xf3:
			pfx = (pfx & ~SOFT_PFX_REPNE) | SOFT_PFX_REP;
			break;
		case 0x66:
			pfx |= SOFT_PFX_OPSIZE;
			break;
		case 0x67:
			pfx |= SOFT_PFX_ADDRSIZE;
			break;
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			pfx &= ~(SOFT_PFX_FS | SOFT_PFX_GS);
			break;
		case 0x64:
			pfx = (pfx & ~SOFT_PFX_GS) | SOFT_PFX_FS;
			break;
		case 0x65:
			pfx = (pfx & ~SOFT_PFX_FS) | SOFT_PFX_GS;
			break;
		}
	}
	/* Of REX bytes in a row only the last counts: it is the one next to the opcode. */
	*rex = 0;
	while (i < len && (b[i] & 0xf0) == 0x40)
		*rex = b[i++];
	*opcode = i < len ? b[i] : 0;
	return pfx;
}

/*
 * The hardware takes the legacy prefixes in any order: `66 2e 0f ef` is
 * pxor as much as `2e 66 0f ef`.  Capstone 4 finds a mandatory prefix (66,
 * F2, F3 of an SSE opcode) only next to the opcode and otherwise decodes
 * another instruction (an MMX por; `66 67 0f ef` too).  So the prefixes
 * are sorted, stably, before Capstone sees them: segment overrides, F0,
 * 67, 66, then F2 and F3.  Within a group the order is kept, so the last
 * segment override and the last of F2/F3 still win.  The length and
 * meaning of the instruction are unchanged.
 */
static void sort_prefixes(uint8_t *b, unsigned int len)
{
	uint8_t sorted[SOFT_MAX_INSN_LEN];
	unsigned int n, i, k = 0;
	int group;

	for (n = 0; n < len && prefix_group(b[n]) >= 0; n++)
		;
	for (group = 0; group <= 4; group++)
		for (i = 0; i < n; i++)
			if (prefix_group(b[i]) == group)
				sorted[k++] = b[i];
	memcpy(b, sorted, n);
}

/*
 * movs, cmps, stos, lods and scas (A4-A7, AA-AF): the even opcode moves
 * bytes; the odd one a quadword with REX.W, else a word with 0x66, else a
 * doubleword, whatever name the decoder gave it.
 */
static uint8_t string_size(uint8_t pfx, uint8_t rex, uint8_t opcode)
{
	if (opcode < 0xa4 || opcode > 0xaf || opcode == 0xa8 || opcode == 0xa9)
		return 0; /* not a string instruction (A8, A9: test al/eax, imm) */
	if (!(opcode & 1))
		return 1;
	return (rex & 8) ? 8 : (pfx & SOFT_PFX_OPSIZE) ? 2 : 4;
}

/*
 * SSE instructions go to sse.c: those with an xmm operand, and those that
 * keep the SSE state or came with SSE (movnti, the prefetches) without
 * naming an xmm register.
 */
static bool is_sse(const struct soft_insn *insn)
{
	unsigned int i;

	switch (insn->id) {
	case X86_INS_LDMXCSR:
	case X86_INS_STMXCSR:
	case X86_INS_FXSAVE:
	case X86_INS_FXSAVE64:
	case X86_INS_FXRSTOR:
	case X86_INS_FXRSTOR64:
	case X86_INS_MOVNTI:
	case X86_INS_PREFETCHNTA:
	case X86_INS_PREFETCHT0:
	case X86_INS_PREFETCHT1:
	case X86_INS_PREFETCHT2:
	case X86_INS_CVTSS2SI: /* from memory, to a gpr: no xmm named */
	case X86_INS_CVTSD2SI:
	case X86_INS_CVTTSS2SI:
	case X86_INS_CVTTSD2SI:
		return true;
	}
	for (i = 0; i < insn->nops; i++)
		if (insn->op[i].type == SOFT_OP_XMM)
			return true;
	return false;
}

/*
 * Capstone 4 builds a sorted table of the x86 instructions with an implicit
 * accumulator operand (X86_insn_reg_intel()) the first time it decodes one,
 * in a global and without a lock (capstone issues #1358, #1647): two vCPU
 * threads decoding their first `cmp al, imm8` at once can read a half-sorted
 * table and get another instruction's operands.  Decoding one such
 * instruction once, before any vCPU thread exists, builds the table.  The
 * once-flag is global like the table it guards.
 */
static pthread_once_t capstone_tables_once = PTHREAD_ONCE_INIT;

static void capstone_build_tables(void)
{
	static const uint8_t cmp_al_imm8[] = { 0x3c, 0x25 };
	cs_insn *insn;
	csh handle;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
		return;
	cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
	if (cs_disasm(handle, cmp_al_imm8, sizeof(cmp_al_imm8), 0, 1, &insn) == 1)
		cs_free(insn, 1);
	cs_close(&handle);
}

struct soft_decoder *soft_decoder_create(void)
{
	struct soft_decoder *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_once(&capstone_tables_once, capstone_build_tables);
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->handle) != CS_ERR_OK) {
		free(d);
		return NULL;
	}
	cs_option(d->handle, CS_OPT_DETAIL, CS_OPT_ON);
	d->insn = cs_malloc(d->handle);
	if (!d->insn) {
		cs_close(&d->handle);
		free(d);
		return NULL;
	}
	return d;
}

void soft_decoder_destroy(struct soft_decoder *d)
{
	if (!d)
		return;
	cs_free(d->insn, 1);
	cs_close(&d->handle);
	free(d);
}

/*
 * Capstone 4 forgets a 66 that comes before an F2 or F3, the order
 * sort_prefixes() puts them in for SSE's sake: `66 f3 0d iw` decodes as
 * "or eax, 0x..." (with the 2-byte immediate, so the length is right).
 * Outside SSE such an F2/F3 is no mandatory prefix, and the operand size
 * is the prefixes' (the string instructions have their own, strsize).
 */
static void fix_operand_size(struct soft_insn *insn)
{
	if (insn->opsize != 2 || !(insn->prefix & (SOFT_PFX_REP | SOFT_PFX_REPNE)))
		return;
	for (unsigned int i = 0; i < insn->nops; i++)
		if (insn->op[i].size == 4)
			insn->op[i].size = 2;
}

int soft_decode(struct soft_decoder *d, const uint8_t *bytes, size_t len, uint64_t rip,
		struct soft_insn *insn)
{
	uint8_t rex, opcode;
	const uint8_t *code;
	uint64_t addr = rip;
	cs_insn *ci = d->insn;
	const cs_x86 *x;
	unsigned int i;
	int cc;

	memset(insn, 0, sizeof(*insn));
	if (len > SOFT_MAX_INSN_LEN)
		len = SOFT_MAX_INSN_LEN;
	memcpy(insn->bytes, bytes, len);
	sort_prefixes(insn->bytes, len);
	code = insn->bytes;
	if (!cs_disasm_iter(d->handle, &code, &len, &addr, ci)) {
		insn->len = 1;
		insn->kind = SOFT_K_UNSUPPORTED;
		return -EILSEQ;
	}
	x = &ci->detail->x86;
	insn->id = ci->id;
	insn->len = ci->size;
	insn->kind = SOFT_K_NORMAL;
	insn->prefix = scan_prefixes(insn->bytes, insn->len, &rex, &opcode);
	insn->opsize = (rex & 8) ? 8 : (insn->prefix & SOFT_PFX_OPSIZE) ? 2 : 4;
	insn->strsize = string_size(insn->prefix, rex, opcode);
	cc = condition_code(ci->id);
	insn->cc = cc < 0 ? 0 : cc;
	if (x->op_count > 3) {
		insn->kind = SOFT_K_UNSUPPORTED;
		return 0;
	}
	insn->nops = x->op_count;
	/* x87.c reads its instructions from the bytes and names ST registers by number. */
	if ((opcode >= 0xd8 && opcode <= 0xdf) || (opcode == 0x9b && insn->len > 1))
		insn->kind = SOFT_K_X87;
	for (i = 0; i < x->op_count; i++) {
		if (!convert_operand(&x->operands[i], ci, ci->id, insn->prefix & SOFT_PFX_ADDRSIZE,
				     &insn->op[i])) {
			if (insn->kind == SOFT_K_X87)
				insn->op[i].type = SOFT_OP_NONE; /* an ST register */
			else
				insn->kind = SOFT_K_UNSUPPORTED;
		} else if (insn->op[i].type == SOFT_OP_CR && insn->kind == SOFT_K_NORMAL)
			insn->kind = SOFT_K_MOV_CR;
	}
	/* c4/c5 and 62 in 64-bit mode are VEX and EVEX: AVX is not offered. */
	if (insn->kind == SOFT_K_NORMAL && is_sse(insn))
		insn->kind = opcode == 0xc4 || opcode == 0xc5 || opcode == 0x62 ?
				     SOFT_K_UNSUPPORTED :
				     SOFT_K_SSE;
	if (insn->kind == SOFT_K_NORMAL)
		fix_operand_size(insn);
	return 0;
}

void soft_disasm(struct soft_decoder *d, const struct soft_insn *insn, uint64_t rip, char *buf,
		 size_t len)
{
	const uint8_t *code = insn->bytes; /* prefixes already sorted */
	size_t size = SOFT_MAX_INSN_LEN;
	uint64_t addr = rip;

	if (cs_disasm_iter(d->handle, &code, &size, &addr, d->insn))
		snprintf(buf, len, "%s %s", d->insn->mnemonic, d->insn->op_str);
	else
		snprintf(buf, len, "(bad) %02x %02x %02x %02x", insn->bytes[0], insn->bytes[1],
			 insn->bytes[2], insn->bytes[3]);
}

const char *soft_insn_name(struct soft_decoder *d, unsigned int id)
{
	const char *name = cs_insn_name(d->handle, id);

	return name ? name : "?";
}
