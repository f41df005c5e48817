package hss

import (
	"errors"
	"testing"
)

// walkPages asks for as few pages as the answers allow, and stops where
// each of its bounds says.
func TestWalkPagesStopsAtEachOfItsBounds(t *testing.T) {
	full := func(n int) []int { return make([]int, n) }
	boom := errors.New("boom")
	for _, c := range []struct {
		name     string
		maxPages int
		pages    [][]int
		total    int64
		stopAt   int // fn stops at this entry, 0 never
		wantAsks int
		wantSeen int
		wantErr  error
	}{
		{"a short page ends the list", 0, [][]int{full(PageSize), full(3)}, -1, 0, 2, PageSize + 3, nil},
		{"the total ends it without a short page", 0, [][]int{full(PageSize), full(PageSize)}, 2 * PageSize, 0, 2, 2 * PageSize, nil},
		{"fn stops mid-page", 0, [][]int{full(PageSize), full(PageSize)}, -1, 5, 1, 5, nil},
		{"maxPages bounds it", 2, [][]int{full(PageSize), full(PageSize), full(PageSize)}, -1, 0, 2, 2 * PageSize, nil},
		{"an error ends it", 0, [][]int{full(PageSize)}, -1, 0, 2, PageSize, boom},
	} {
		t.Run(c.name, func(t *testing.T) {
			asks, seen := 0, 0
			err := walkPages(c.maxPages, func(offset int32) ([]int, int64, error) {
				if int(offset) != asks*PageSize {
					t.Fatalf("asked offset %d on call %d", offset, asks)
				}
				asks++
				if asks > len(c.pages) {
					return nil, 0, boom
				}
				return c.pages[asks-1], c.total, nil
			}, func(int) (bool, error) {
				seen++
				return seen != c.stopAt, nil
			})
			if asks != c.wantAsks || seen != c.wantSeen || !errors.Is(err, c.wantErr) {
				t.Errorf("asks %d, seen %d, err %v; want %d, %d, %v", asks, seen, err, c.wantAsks, c.wantSeen, c.wantErr)
			}
		})
	}
	// The largest offset the calls accept bounds a list that never ends.
	asks := 0
	_ = walkPages(0, func(int32) ([]int, int64, error) { asks++; return full(PageSize), -1, nil }, func(int) (bool, error) { return true, nil })
	if want := maxListOffset/PageSize + 1; asks != want {
		t.Errorf("an endless list took %d pages, want %d", asks, want)
	}
}
