# Invalidation cost against the pages in the range (bench_secondary_mmu).
# csv: secondary_mmu
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
set logscale xy
set key left top
set title "invalidate_range_start/end against range size"
set xlabel "pages in the range"
set ylabel "ns"
plot series("invalidate_ns", "mapped") using 1:2 with linespoints title "pages mapped in the secondary MMU", \
     series("invalidate_ns", "no_slot") using 1:2 with linespoints title "range outside every memslot"
