package hss

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestParseRetryAfterReadsSecondsOrADateWithinBounds(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"absent", "", 0},
		{"delay seconds", "3", 3 * time.Second},
		{"zero", "0", 0},
		{"negative seconds", "-5", 0},
		{"garbage", "soon", 0},
		{"date in the future", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"seconds above the cap", "3600", maxRetryAfter},
		{"date beyond the cap", now.Add(24 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
		{"seconds that overflow a duration", "9223372037", maxRetryAfter},
		{"seconds far beyond a duration", "99999999999999999", maxRetryAfter},
		{"seconds beyond an integer", "99999999999999999999", maxRetryAfter},
		{"negative seconds beyond an integer", "-99999999999999999999", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(parseRetryAfter(tc.value, now)).To(Equal(tc.want))
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, seed := range []string{"", "0", "1", "120", "-1", "9223372037", "18446744074", "+7",
		"Mon, 01 Jun 2026 12:01:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "Monday, 01-Jun-26 12:00:00 GMT"} {
		f.Add(seed, int64(1780315200))
	}
	f.Fuzz(func(t *testing.T, value string, nowUnix int64) {
		now := time.Unix(nowUnix%(1<<40), 0)
		d := parseRetryAfter(value, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("Retry-After %q gave %v, want 0..%v", value, d, maxRetryAfter)
		}
		if s, err := strconv.Atoi(value); err == nil || errors.Is(err, strconv.ErrRange) {
			want := maxRetryAfter
			if s <= 0 {
				want = 0
			} else if s < int(maxRetryAfter/time.Second) {
				want = time.Duration(s) * time.Second
			}
			if d != want {
				t.Fatalf("Retry-After %q gave %v, want %v", value, d, want)
			}
		}
	})
}
