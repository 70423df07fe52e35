# Remote TLB flush against vCPUs, in guest mode and outside it (bench_secondary_mmu).
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
set key left top
set logscale y
set xtics ("0" 0, "1" 1, "2" 2, "4" 4, "8" 8)
set title "kvm_flush_remote_tlbs() against vCPUs"
set xlabel "vCPUs"
set ylabel "ns per flush"
plot series("remote_flush_ns", "vcpus_in_guest_mode") using 1:2 with linespoints title "in guest mode (kicked, waited for)", \
     series("remote_flush_ns", "vcpus_outside_guest_mode") using 1:2 with linespoints title "outside guest mode (idle: the request alone)"
