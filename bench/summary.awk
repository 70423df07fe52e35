# The summary table of a scripts/bench run: each goal of bench/goals.tsv with
# the figure measured, its peer from the same run, the ratio and whether the
# goal is met.  A goal whose figure no CSV holds is "not measured", never a
# failure: the benchmark failed, or no benchmark prints that figure yet.
#
#	awk -f bench/summary.awk -v dir=RESULTS_DIR bench/goals.tsv
#
# Reads RESULTS_DIR/BENCH.csv, each with a header line.  POSIX awk (mawk):
# the test (tests/bench/summary) runs it on a fixture.

# Split one CSV line into f[1..n], quotes allowed around a field ("a,b").
function splitcsv(line, f,    n, c, i, q, cur) {
	n = 0
	cur = ""
	q = 0
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		if (q) {
			if (c == "\"" && substr(line, i + 1, 1) == "\"") {
				cur = cur "\""
				i++
			} else if (c == "\"") {
				q = 0
			} else {
				cur = cur c
			}
		} else if (c == "\"") {
			q = 1
		} else if (c == ",") {
			f[++n] = cur
			cur = ""
		} else {
			cur = cur c
		}
	}
	f[++n] = cur
	return n
}

# Load BENCH.csv once into rows[BENCH, r, column name]; nrows[BENCH].
function load(bench,    file, line, n, i, hdr, f, r) {
	if (bench in loaded)
		return
	loaded[bench] = 1
	nrows[bench] = 0
	file = dir "/" bench ".csv"
	if ((getline line < file) <= 0)
		return
	n = splitcsv(line, hdr)
	r = 0
	while ((getline line < file) > 0) {
		if (line == "")
			continue
		r++
		splitcsv(line, f)
		for (i = 1; i <= n; i++)
			rows[bench, r, hdr[i]] = f[i]
	}
	close(file)
	nrows[bench] = r
}

# One reference, BENCH:SELECT:COLUMN, or a number: sets val, returns 1 if found.
function ref1(s,    p, bench, sel, col, conds, nc, kv, r, i, ok) {
	if (s ~ /^[0-9.eE+-]+$/) {
		val = s + 0
		return 1
	}
	if (split(s, p, ":") != 3)
		return 0
	bench = p[1]
	sel = p[2]
	col = p[3]
	load(bench)
	nc = split(sel, conds, "&")
	for (r = 1; r <= nrows[bench]; r++) {
		ok = 1
		for (i = 1; i <= nc && ok; i++) {
			split(conds[i], kv, "=")
			if (!((bench, r, kv[1]) in rows) || rows[bench, r, kv[1]] != kv[2])
				ok = 0
		}
		if (ok && (bench, r, col) in rows && rows[bench, r, col] ~ /^[0-9.eE+-]+$/ &&
		    rows[bench, r, col] != "") {
			val = rows[bench, r, col] + 0
			return 1
		}
	}
	return 0
}

# A sum of references joined by " + ": sets val, returns 1 if each is found.
function ref(s,    parts, n, i, sum) {
	n = split(s, parts, / \+ /)
	sum = 0
	for (i = 1; i <= n; i++) {
		if (!ref1(parts[i]))
			return 0
		sum += val
	}
	val = sum
	return 1
}

function compare(x, op, y) {
	if (op == "<=") return x <= y
	if (op == "<") return x < y
	if (op == ">=") return x >= y
	if (op == ">") return x > y
	return -1
}

# Four significant digits, without an exponent for the figures goals name.
function num(x) {
	if (x >= 10000 || x <= -10000)
		return sprintf("%.0f", x)
	return sprintf("%.4g", x)
}

BEGIN {
	FS = "\t"
	if (dir == "")
		dir = "."
	fmt = "%-24s | %-12s | %-12s | %-8s | %-14s | %s\n"
	printf fmt, "figure", "measured", "peer", "ratio", "goal", "met?"
	printf fmt, "------------------------", "------------", "------------", "--------",
		"--------------", "------------"
}

/^#/ || NF == 0 { next }

NF != 6 {
	printf "bench/goals.tsv:%d: %d fields, not 6\n", NR, NF > "/dev/stderr"
	next
}

{
	id = $1
	unit = $3
	split($4, g, " ")
	what = g[1]
	op = g[2]
	limit = g[3] + 0
	measured = "-"
	peer = "-"
	ratio = "-"
	met = "not measured"
	have = ref($5)
	m = val
	if (have)
		measured = num(m) " " unit
	havepeer = 0
	if ($6 != "-") {
		havepeer = ref($6)
		p = val
		if (havepeer)
			peer = num(p) " " unit
		if (have && havepeer && p != 0)
			ratio = sprintf("%.3g", m / p)
	}
	if (what == "value" && have) {
		met = compare(m, op, limit) ? "yes" : "no"
	} else if (what == "ratio" && ratio != "-") {
		met = compare(m / p, op, limit) ? "yes" : "no"
	}
	if (met == "not measured")
		notmeasured[++nnot] = id
	if (met == "yes")
		nyes++
	if (met == "no")
		nno++
	printf fmt, id, measured, peer, ratio, $4, met
	goals++
}

END {
	printf "\n%d goals: %d met, %d not met, %d not measured\n", goals, nyes, nno, nnot
	for (i = 1; i <= nnot; i++)
		printf "not measured by any benchmark yet (or its benchmark failed): %s\n",
			notmeasured[i]
}
