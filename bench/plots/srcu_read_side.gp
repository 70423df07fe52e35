# An empty read section against reader threads (bench_srcu).
# csv: srcu
# Run by scripts/bench: gnuplot -e "csv='BENCH.csv'; svg='OUT.svg'" THIS.gp
set terminal svg size 720,440 dynamic font "sans,11"
set output svg
set datafile separator ","
set grid
set termoption noenhanced
# The long CSV of bench.h: section,row,column,value.  One series is a section
# and a column, its x the row; awk picks its lines first (rows that are not
# a number, such as "1tib_slot_one_page", are no point of a sweep), so that
# the points join into a line.
series(s, c) = sprintf("< awk -F, '$1 == \"%s\" && $3 == \"%s\" && $2 ~ /^[0-9.]+$/ { print $2 \",\" $4 }' '%s'", s, c, csv)
set logscale y
set key left top
set xtics 1
set title "read lock + unlock pair against reader threads"
set xlabel "reader threads"
set ylabel "ns per pair"
plot series("read_side_ns", "nopin_srcu") using 1:2 with linespoints title "nopin srcu", \
     series("read_side_ns", "srcu_fenced") using 1:2 with linespoints title "srcu, fenced readers", \
     series("read_side_ns", "urcu_memb") using 1:2 with linespoints title "liburcu memb", \
     series("read_side_ns", "rwlock_rd") using 1:2 with linespoints title "pthread rwlock, read"
