# mm_take_all_locks() and registration against VMAs (bench_all_locks).
# csv: all_locks
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
set logscale x
set xrange [500:200000]
set key left top
set title "mm_take_all_locks() against VMAs"
set xlabel "VMAs"
set ylabel "ns per VMA (take + drop)"
set y2label "registration, us"
set y2tics
set ytics nomirror
plot series("all_locks", "ns_per_vma") using 1:2 with linespoints title "take + drop, ns per VMA", \
     series("all_locks", "walk_ns_per_vma") using 1:2 with linespoints title "one bare VMA walk, ns per VMA", \
     series("all_locks", "register_us") using 1:2 axes x1y2 with linespoints title "register, us", \
     series("all_locks", "register_legacy_us") using 1:2 axes x1y2 with linespoints title "register without all locks (legacy), us"
