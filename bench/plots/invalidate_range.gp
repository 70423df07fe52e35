# Invalidation cost against the range, 16 pages mapped in it (bench_secondary_mmu).
# csv: secondary_mmu
# Run by scripts/bench: gnuplot -e "csv='BENCH.csv'; svg='OUT.svg'" THIS.gp
set terminal svg size 720,440 dynamic font "sans,11"
set output svg
set datafile separator ","
set grid
set termoption noenhanced
# The long CSV of bench.h: section,row,column,value; awk picks one series.
series(s, c) = sprintf("< awk -F, '$1 == \"%s\" && $3 == \"%s\" && $2 ~ /^[0-9.]+$/ { print $2 \",\" $4 }' '%s'", s, c, csv)
set logscale xy
set key left top
set title "invalidate_range_start/end against the range, 16 pages mapped in it"
set xlabel "pages in the range (16 to 2^28: 1 TiB)"
set ylabel "ns"
plot series("invalidate_range_ns", "flat") using 1:2 with linespoints title "flat", \
     series("invalidate_range_ns", "tdp") using 1:2 with linespoints title "tdp", \
     series("invalidate_range_ns", "shadow") using 1:2 with linespoints title "shadow (SPTEs and the rmap walk)"
