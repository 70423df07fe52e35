# Guest pages resident in host memory over time under reclaim pressure, pin
# mode beside nopin (bench_reclaimable).
# csv: reclaimable
# Run by scripts/bench: gnuplot -e "csv='BENCH.csv'; svg='OUT.svg'" THIS.gp
set terminal svg size 720,440 dynamic font "sans,11"
set output svg
set datafile separator ","
set grid
set termoption noenhanced
# The long CSV of bench.h: section,row,column,value; the row is the time in ms.
series(c) = sprintf("< awk -F, '$1 == \"reclaimable_over_time\" && $3 == \"%s\" && $2 ~ /^[0-9.]+$/ { print $2 \",\" $4 }' '%s'", c, csv)
set yrange [0:*]
set key right center
set title "Guest pages the host holds under --pressure reclaim"
set xlabel "ms since the guest touched every page"
set ylabel "guest pages resident"
plot series("pin_resident") using 1:2 with lines linewidth 2 title "pin", \
     series("nopin_resident") using 1:2 with lines linewidth 2 title "nopin", \
     series("working_set") using 1:2 with lines dashtype 2 title "working set the guest keeps writing"
