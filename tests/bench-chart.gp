# SPDX-License-Identifier: GPL-2.0-only
#
# bench-chart.gp: make bench's chart (tests/demo.sh runs it as gnuplot -c
# bench-chart.gp DATA OUT TITLE [iommufd]). Reads DATA, a TSV of rows
# "label<TAB>type1/ours<TAB>iommufd/ours" (NaN: not timed), writes OUT, an
# SVG: for each map and unmap row, how many times longer a peer took than
# iommu-replace (above the line at 1: iommu-replace is faster), on a log
# scale. The iommufd column is drawn only when the fourth argument says it
# was timed (gnuplot refuses a histogram with no valid points).
set terminal svg size 1500,700 dynamic font "sans,11"
set output ARG2
set datafile separator "\t"
set title sprintf("make bench: a peer's median over iommu-replace's (%s, QEMU TCG)", ARG3)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 2
set yrange [0.125:*]
set ylabel "peer / iommu-replace (above 1: iommu-replace faster)"
set rmargin 10
set xtics rotate by -60 font "sans,8"
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"
if (ARG4 eq "iommufd") {
	plot ARG1 using 2:xtic(1) title "VFIO type1" lc rgb "#4477aa", \
	     '' using 3 title "upstream iommufd" lc rgb "#cc6677"
} else {
	plot ARG1 using 2:xtic(1) title "VFIO type1" lc rgb "#4477aa"
}
