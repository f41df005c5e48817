package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"
)

var (
	genNamespaces = []string{"payments", "platform", "storefront", "data", "ml", "ops"}
	genNames      = []string{"api", "worker", "frontend", "gateway", "migrator", "scheduler", "ingest", "auth"}
	// genEpoch anchors update times so the same seed always gives the same
	// inventory, whatever the date.
	genEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Generate returns n distinct images spread over several organisations,
// repositories and tags, with varied types, sizes and update times. The same
// n and seed always give the same images.
func Generate(n int, seed int64) []Image {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x1ae7))
	repos := len(genNamespaces) * len(genNames)
	imgs := make([]Image, 0, n)
	for i := range n {
		ns := genNamespaces[i%len(genNamespaces)]
		name := genNames[(i/len(genNamespaces))%len(genNames)]
		round := i / repos // tags of a repository differ by round
		img := Image{
			Type:      TypePrivate,
			Namespace: ns,
			Name:      name,
			Tag:       fmt.Sprintf("1.%d.%d", round/10, round%10),
			Size:      5<<20 + rng.Int64N(2<<30),
			UpdatedAt: genEpoch.Add(time.Duration(rng.Int64N(180*24)) * time.Hour).Add(time.Duration(round) * time.Minute),
			FilesNum:  int32(50 + rng.IntN(60000)),
		}
		// Files take roughly the image's size; capped for the SDK's int32.
		img.FilesSize = int32(min(img.Size/10*int64(8+rng.IntN(5)), maxInt32))
		switch {
		case i%11 == 10:
			img.Type = TypeInstance
			img.InstanceID = fmt.Sprintf("instance-%02d", i%3)
			img.InstanceURL = fmt.Sprintf("https://registry-%02d.swr.example.com", i%3)
		case i%7 == 6:
			img.Type = TypeShared
		}
		sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d", seed, i))
		img.ImageID = "sha256:" + hex.EncodeToString(sum[:])
		imgs = append(imgs, img)
	}
	return imgs
}
