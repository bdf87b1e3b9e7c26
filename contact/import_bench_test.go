package contact_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// crmRows writes a CSV of n contacts to w as it is read (the file never
// exists whole): typed attributes, tags, opt-ins, and one bad phone in a
// thousand. It returns how many bytes it wrote once done.
func crmRows(w io.WriteCloser, n int, written *atomic.Int64) {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "phone,name,tags,opt_in,opt_in_source,last_purchase_at:time,orders:number,city:string")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		phone := strconv.Itoa(4915100000000 + i)
		if i%1000 == 999 {
			phone = "n/a"
		}
		opt := [...]string{"OPTED_IN", "", "OPTED_OUT"}[i%3]
		src := ""
		if opt != "" {
			src = "shop"
		}
		line := fmt.Sprintf("+%s,Customer %d,customer;store-%d,%s,%s,%s,%d,City %d\n",
			phone, i, i%12, opt, src, start.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i%20, i%50)
		written.Add(int64(len(line)))
		_, _ = bw.WriteString(line)
	}
	_ = bw.Flush()
	_ = w.Close()
}

// BenchmarkImport is must-show 4's large half: a CSV of 10,000 and of
// 100,000 contacts streamed into an import, on both databases. The
// figures are the peak heap above the start (sampled every 10 ms), the
// process's peak RSS (VmHWM, reset before each run; SQLite runs in-process
// so its page cache counts), the file's size and the rows per second. A
// bounded import holds the same peak for 100,000 rows as for 10,000.
//
//	go test -run '^$' -bench BenchmarkImport -benchtime 1x ./contact/
func BenchmarkImport(b *testing.B) {
	for _, name := range []string{dialect.SQLite, dialect.Postgres} {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/rows=%d", name, n), func(b *testing.B) {
				db := storetest.Open(b, name)
				svc := contact.NewService(db.Client, nil)
				for i := range b.N {
					ten, err := db.Client.Tenant.Create().SetName("crm").SetSlug(fmt.Sprintf("crm%d", i)).Save(viewer.Platform(b.Context()))
					require.NoError(b, err)
					ctx := viewer.System(b.Context(), ten.ID)
					r, w := io.Pipe()
					var size atomic.Int64
					go crmRows(w, n, &size)

					runtime.GC()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					base := ms.HeapAlloc
					resetPeakRSS()
					var peak atomic.Uint64
					stop := make(chan struct{})
					sampled := make(chan struct{})
					go func() {
						defer close(sampled)
						t := time.NewTicker(10 * time.Millisecond)
						defer t.Stop()
						for {
							select {
							case <-stop:
								return
							case <-t.C:
								var ms runtime.MemStats
								runtime.ReadMemStats(&ms)
								if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
									peak.Store(ms.HeapAlloc - base)
								}
							}
						}
					}()
					start := time.Now()
					res, err := svc.Import(ctx, r, contact.ImportOptions{})
					elapsed := time.Since(start)
					close(stop)
					<-sampled
					require.NoError(b, err)
					require.Equal(b, n-n/1000, res.Created)
					require.Equal(b, n/1000, res.Refused)
					require.Equal(b, 1001, res.RefusedRows[0].Line, "the first bad phone: the 1,000th row, under the header")
					b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
					b.ReportMetric(peakRSS()/(1<<10), "peak-RSS-MB")
					b.ReportMetric(float64(size.Load())/(1<<20), "file-MB")
					b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
				}
			})
		}
	}
}

// resetPeakRSS resets the process's VmHWM (Linux: clear_refs 5).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's VmHWM in KiB, 0 where /proc is not.
func peakRSS() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb
		}
	}
	return 0
}
