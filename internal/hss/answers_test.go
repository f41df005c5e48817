package hss

import (
	"math"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// What HSS says of an image is cleaned where it enters, on both families of
// calls: a failure text of megabytes with control characters is cut to a
// bound and made printable, and times sent in microseconds are read as such.
func TestImageAnswersAreCleanedWhereTheyEnter(t *testing.T) {
	for _, backend := range []string{BackendBatchScan, BackendTasks} {
		t.Run(backend, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{Backend: backend}, nil)
			img := private("ml", "trainer", "1.0", 1<<30, epoch)
			img.ForcedOutcome = simulator.StatusFailed
			img.FailureText = "engine said:\x1b[31m" + strings.Repeat("x\n", 1<<20)
			img.TimesInMicros = true

			got := scanned(t, e, img)
			g.Expect(got.ScanStatus).To(Equal(StatusFailed))
			g.Expect(len(got.ScanFailedDesc)).To(BeNumerically("<=", maxLongText+len("...")))
			g.Expect(got.ScanFailedDesc).To(HavePrefix("engine said: [31mx x"))
			g.Expect(got.ScanFailedDesc).NotTo(ContainSubstring("\n"))
			g.Expect(got.LastScanAt).To(Equal(epoch.Add(queueDelay + scanTime)))
			g.Expect(got.UpdatedAt).To(Equal(epoch))
		})
	}
}

func TestTimesPastYear9999AreReadAsMicrosecondsOrNotAtAll(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 123_000_000, time.UTC)
	for _, tc := range []struct {
		name string
		in   int64
		want time.Time
	}{
		{"milliseconds", at.UnixMilli(), at},
		{"microseconds", at.UnixMicro(), at},
		{"the last millisecond of year 9999", latestTime.UnixMilli(), latestTime},
		{"nanoseconds", at.UnixNano(), time.Time{}},
		{"the largest value", math.MaxInt64, time.Time{}},
		{"zero", 0, time.Time{}},
		{"negative", -1, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromMillis(&tc.in); !got.Equal(tc.want) {
				t.Fatalf("fromMillis(%d) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
