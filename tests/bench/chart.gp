# chart.gp - bench.sh's medians as one PNG: a bar per setup in six panels
#
#   gnuplot -e "dat='results.dat'; png='bench.png'; title='...'" chart.gp
#
# dat has one row per setup (bench.sh's data()): name, TCP both ways in
# Gbit/s, 64-byte UDP in kpkt/s, added latency in us, CPU s per GB and
# TCP retransmits; "-" where a setup has no such number (plain routing
# has no tunnel CPU), which leaves its bar out.
set terminal pngcairo size 1500,820 font ",10"
set output png
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics lc rgb "#dddddd"
set xtics rotate by -30 nomirror
set key off
set yrange [0:*]
set offsets 0, 0, graph 0.1, 0
set multiplot layout 2,3 title title font ",13"
# gangway's paths in blues, wireguard-go red (lighter without offloads),
# plain routing grey
color(name) = name eq "plain" ? 0x999999 : name eq "wggo" ? 0xcc3333 : \
	name eq "wggo-pp" ? 0xe88a8a : \
	name eq "gangway" ? 0x1f5fa8 : 0x6d9fd6
do for [col in "2 3 4 5 6 7"] {
	c = int(col)
	set title (c == 2 ? "TCP host -> container (Gbit/s, higher is better)" : \
		   c == 3 ? "TCP container -> host (Gbit/s, higher is better)" : \
		   c == 4 ? "UDP 64 B delivered (kpkt/s, higher is better)" : \
		   c == 5 ? "latency added to a ping (us, lower is better)" : \
		   c == 6 ? "tunnel CPU per GB moved (s, lower is better)" : \
			    "TCP retransmits per run (lower is better)")
	plot dat using 0:c:(0.8):(color(strcol(1))):xtic(1) with boxes lc rgb variable, \
	     dat using 0:c:(sprintf(c == 4 || c == 5 || c == 7 ? "%.0f" : "%.2f", column(c))) \
		with labels offset 0,0.7 font ",9"
}
unset multiplot
