# Secondary fault throughput against the invalidation rate, the retry rate on
# the second axis (bench_fault_vs_inval).
# csv: fault_vs_inval
# Run by scripts/bench: gnuplot -e "csv='BENCH.csv'; svg='OUT.svg'" THIS.gp
set terminal svg size 720,440 dynamic font "sans,11"
set output svg
set datafile separator ","
set grid
set termoption noenhanced
# The long CSV of bench.h: section,row,column,value; the row is the rate
# the invalidator reached.  Row 0, no invalidator, is the peer: drawn as a
# level line across the plot, since a log axis has no 0.
series(c) = sprintf("< awk -F, '$1 == \"fault_vs_inval\" && $3 == \"%s\" && $2 ~ /^[0-9.]+$/ && $2 > 0 { print $2 \",\" $4 }' '%s'", c, csv)
peer(c) = sprintf("< awk -F, '$1 == \"fault_vs_inval\" && $3 == \"%s\" && $2 == \"0\" { print 500 \",\" $4; print 2000000 \",\" $4 }' '%s'", c, csv)
set logscale x
set xrange [500:2000000]
set yrange [0:*]
set key left bottom
set title "Secondary faults against invalidations (64-page windows)"
set xlabel "invalidations per second (reached)"
set ylabel "faults per second"
set y2label "retries per fault"
set y2tics
set format y2 "%g"
set ytics nomirror
plot series("faults_per_s") using 1:2 with linespoints title "faults/s", \
     peer("faults_per_s") using 1:2 with lines dashtype 2 title "faults/s, no invalidations (peer)", \
     series("retry_rate") using 1:2 axes x1y2 with linespoints title "retry rate"
