package main

func (m *mdWriter) lifecycle() {
	m.p("## 1. Lifecycle")
	m.p("")
	whos := []string{"mycr", "runc"}
	if m.s("lifecycle", "run true", "crun") != nil {
		whos = append(whos, "crun")
	}
	ops := []string{"run true", "create", "start", "delete", "create+start+delete"}
	hdr := "| operation |"
	sep := "|---|"
	for _, w := range whos {
		hdr += " " + w + " |"
		sep += "---|"
	}
	m.p("%s mycr / runc |", hdr)
	m.p("%s---|", sep)
	var labels []string
	var series [][]*Series
	for _, op := range ops {
		line := "| `" + op + "` |"
		var row []*Series
		for _, w := range whos {
			s := m.s("lifecycle", op, w)
			line += " " + cell(s) + " |"
			row = append(row, s)
		}
		m.p("%s %s |", line, ratio(m.s("lifecycle", op, "mycr"), m.s("lifecycle", op, "runc")))
		labels = append(labels, op)
		series = append(series, row)
	}
	m.p("")
	m.p("`run true` is `run` (foreground) of a container whose process is busybox `true`; create, start and delete are")
	m.p("the same container driven step by step (delete after the process exited, so without `-f`).")
	m.p("")
	if img := m.plot("lifecycle.png", clusteredPlot("Lifecycle of a busybox container (median, min-max)", "ms", barData("D", labels, series), whos)); img != "" {
		m.p("%s", img)
		m.p("")
	}
	m.phaseTable("Where `run true` spends its time (median ms, from process events)", []string{"run true"}, whos, nil)
}
