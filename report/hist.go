package report

// hist is a duration histogram being merged for a report: samples per bin,
// indexed by bin (binOf), as long as its highest bin. Bins are few (about
// 300 for a month-long duration), so packs merge into it by index, without
// maps or sorting.
type hist []int64

func (h *hist) add(bin int, n int64) {
	if bin >= len(*h) {
		*h = append(*h, make([]int64, bin+1-len(*h))...)
	}
	(*h)[bin] += n
}

func (h *hist) merge(o hist) {
	if len(o) > len(*h) {
		*h = append(*h, make([]int64, len(o)-len(*h))...)
	}
	for b, n := range o {
		(*h)[b] += n
	}
}

// percentile is the nearest-rank p-th percentile of the histogram: the
// lower edge of the bin holding the ⌈p·n/100⌉-th smallest sample.
func (h hist) percentile(p int64) *float64 {
	var n int64
	for _, c := range h {
		n += max(c, 0)
	}
	if n == 0 {
		return nil
	}
	rank := (p*n + 99) / 100
	var seen int64
	for b, c := range h {
		if seen += max(c, 0); seen >= rank {
			v := binFloor(b)
			return &v
		}
	}
	return nil
}

// Kinds of durations a report's cells keep a histogram of, by index.
var histKinds = [...]string{histFirstResponse: KindFirstResponse, histResponse: KindResponse, histResolution: KindResolution}

const (
	histFirstResponse = iota
	histResponse
	histResolution
)

func kindIndex(kind string) int {
	for i, k := range histKinds {
		if k == kind {
			return i
		}
	}
	return -1
}
