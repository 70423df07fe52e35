# A frame alloc+free pair against threads (bench_frame_alloc).
# csv: frame_alloc
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
set key left top
set xtics 1
set title "alloc + free pair against threads"
set xlabel "threads"
set ylabel "ns per pair per thread"
plot series("ns_per_pair", "nopin_poison") using 1:2 with linespoints title "alloc_page + put_page, poison", \
     series("ns_per_pair", "nopin_no_poison") using 1:2 with linespoints title "alloc_page + put_page, no poison", \
     series("ns_per_pair", "malloc_free") using 1:2 with linespoints title "glibc malloc(4096) + free", \
     series("ns_per_pair", "malloc_memset_free") using 1:2 with linespoints title "glibc malloc + memset + free"
