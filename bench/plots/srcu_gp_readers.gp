# A grace period against reader threads in short sections (bench_srcu).
# csv: srcu
# Run by scripts/bench: gnuplot -e "csv='BENCH.csv'; svg='OUT.svg'" THIS.gp
set terminal svg size 720,440 dynamic font "sans,11"
set output svg
set datafile separator ","
set grid
set termoption noenhanced
# As srcu_read_side.gp: awk picks one series (section and column) of the
# long CSV, x the row.  x is logarithmic, so 0 readers is drawn at 0.5.
series(s, c) = sprintf("< awk -F, '$1 == \"%s\" && $3 == \"%s\" && $2 ~ /^[0-9.]+$/ { print ($2 == 0 ? 0.5 : $2) \",\" $4 }' '%s'", s, c, csv)
set logscale xy
set xtics ("0" 0.5, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16, "64" 64)
set key left top
set title "grace period against reader threads in short sections"
set xlabel "reader threads (back-to-back sections of 16 loads)"
set ylabel "us per grace period (median)"
plot series("gp_readers_us", "nopin_srcu") using 1:2 with linespoints title "synchronize_srcu", \
     series("gp_readers_us", "nopin_srcu_expedited") using 1:2 with linespoints title "synchronize_srcu_expedited", \
     series("gp_readers_us", "urcu_memb") using 1:2 with linespoints title "liburcu memb synchronize_rcu"
