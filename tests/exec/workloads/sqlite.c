// SPDX-License-Identifier: GPL-2.0
/*
 * The sqlite workload of `nopin exec` (issue 16): a thin driver around
 * Debian's static libsqlite3.a, which does the real work.  A schema, ROWS
 * inserts in transactions of BATCH rows, an index, aggregate queries, and
 * every result printed, so that the output compared with the native run
 * covers the B-tree, the pager (in memory) and the printf of doubles.
 *
 *   exec_sqlite [ROWS [DBFILE]]    (default 100000 rows, ":memory:"; a
 *                                   DBFILE must not exist, for the same bytes)
 *
 * The rows come from a fixed LCG, never from the clock or getrandom, so the
 * output is the same on every run and every machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define BATCH 5000

static unsigned long long lcg_state = 12345;

static unsigned int lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned int)(lcg_state >> 33);
}

static void die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "exec_sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
	exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "exec_sqlite: %s: %s\n", sql, err);
		exit(1);
	}
}

/*
 * Prints every row of a query, columns separated by '|' as the shell does.
 * A REAL is printed by glibc's printf, not converted to text by sqlite:
 * sqlite's own conversion (sqlite3_str_vappendf) computes in long double,
 * x87 code the soft vCPU does not interpret (tests/exec/README.md).
 */
static void query(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int i, n;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die(db, sql);
	printf("-- %s\n", sql);
	n = sqlite3_column_count(st);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < n; i++) {
			if (i)
				putchar('|');
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				printf("%lld", (long long)sqlite3_column_int64(st, i));
				break;
			case SQLITE_FLOAT:
				printf("%.6f", sqlite3_column_double(st, i));
				break;
			case SQLITE_NULL:
				printf("NULL");
				break;
			default:
				printf("%s", (const char *)sqlite3_column_text(st, i));
			}
		}
		putchar('\n');
	}
	sqlite3_finalize(st);
}

int main(int argc, char **argv)
{
	static const char *const cities[] = { "Aarhus", "Bergen", "Cork",    "Dijon", "Essen",
					      "Faro",	"Graz",	  "Haarlem", "Izmir", "Jena" };
	long rows = argc > 1 ? atol(argv[1]) : 100000;
	const char *path = argc > 2 ? argv[2] : ":memory:";
	sqlite3_stmt *ins;
	sqlite3 *db;
	char name[32];
	long i;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(db, path);
	/*
	 * Sorting for CREATE INDEX spills to a temporary file in /var/tmp by
	 * default, a directory the guest's --root need not have: keep it in
	 * memory, so the workload needs no file but its own database.
	 */
	exec(db, "PRAGMA temp_store = MEMORY");
	/*
	 * A file database keeps its rollback journal in memory: a journal file
	 * needs unlink() and, as root, fchown(), which the exec guest kernel
	 * does not have.  The database itself is still written with pwrite,
	 * locked with fcntl and synced with fdatasync: the --rw path.
	 */
	if (strcmp(path, ":memory:"))
		exec(db, "PRAGMA journal_mode = MEMORY");
	/* A file database must start empty for the output to be the same. */
	exec(db, "DROP TABLE IF EXISTS person");
	exec(db, "CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
		 " city TEXT NOT NULL, age INTEGER, score REAL)");
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO person (name, city, age, score) VALUES (?, ?, ?, ?)",
			       -1, &ins, NULL) != SQLITE_OK)
		die(db, "prepare insert");
	for (i = 0; i < rows; i++) {
		if (i % BATCH == 0)
			exec(db, "BEGIN");
		snprintf(name, sizeof(name), "p%08x", lcg());
		sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 2, cities[lcg() % 10], -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 3, 18 + lcg() % 70);
		sqlite3_bind_double(ins, 4, (lcg() % 1000000) / 1000.0);
		if (sqlite3_step(ins) != SQLITE_DONE)
			die(db, "insert");
		sqlite3_reset(ins);
		if (i % BATCH == BATCH - 1 || i == rows - 1)
			exec(db, "COMMIT");
	}
	sqlite3_finalize(ins);
	exec(db, "CREATE INDEX person_city_age ON person (city, age)");
	query(db, "SELECT count(*), sum(age), min(name), max(name) FROM person");
	query(db, "SELECT city, count(*), avg(age), avg(score), max(score)"
		  " FROM person GROUP BY city ORDER BY city");
	query(db, "SELECT count(*) FROM person WHERE city = 'Graz' AND age BETWEEN 30 AND 39");
	query(db, "SELECT age / 10 * 10 AS decade, count(*), sum(score)"
		  " FROM person GROUP BY decade ORDER BY decade");
	query(db, "SELECT name, city, age, score FROM person"
		  " ORDER BY score DESC, id LIMIT 5");
	query(db, "SELECT count(DISTINCT substr(name, 2, 2)) FROM person");
	query(db, "PRAGMA integrity_check");
	sqlite3_close(db);
	return 0;
}
