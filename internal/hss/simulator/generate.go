package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
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

// fileSizeBands is the distribution of an image's total file size, shaped
// like a production registry: most images are slim services, a quarter
// carry a language runtime with its dependencies, and one in ten is a CUDA,
// ML or JDK stack. A quarter of the images exceed 2^31 bytes of files (the
// SDK's int32 model cannot decode them) and one in ten exceeds 2^32 (nor can
// an unsigned 32-bit field).
var fileSizeBands = []struct {
	share    float64
	min, max int64
}{
	{0.50, 1 << 20, 512 << 20}, // 1 MiB to 512 MiB: distroless, Alpine, Go and Rust services
	{0.25, 512 << 20, 2 << 30}, // 512 MiB to 2 GiB: Node, Python, Ruby runtimes
	{0.15, 2 << 30, 4 << 30},   // 2 to 4 GiB: JDK stacks, data tooling
	{0.10, 4 << 30, 15 << 30},  // 4 to 15 GiB: CUDA and ML images
}

// Generate returns n distinct images spread over several organisations,
// repositories and tags, with varied types, sizes, update times and
// findings. The same n and seed always give the same images.
//
// Per image: total file size from fileSizeBands; an average file of 16 to
// 160 KiB gives the file count (up to about a million files); the registry
// size (image_size) is 30 to 60% of the files' size, as layers are
// compressed. Findings: 30% of images have no vulnerabilities and the rest
// up to 400, and 3% of all images 400 to 900 (several pages of the
// vulnerability list); unsafe settings 0 to 7; 2% of images hold 1 to 3
// malicious files.
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
			UpdatedAt: genEpoch.Add(time.Duration(rng.Int64N(180*24)) * time.Hour).Add(time.Duration(round) * time.Minute),
			FilesSize: drawFileSize(rng),
		}
		img.FilesNum = max(img.FilesSize/((16+rng.Int64N(145))<<10), 1)
		img.Size = img.FilesSize / 100 * (30 + rng.Int64N(31))
		if rng.Float64() >= 0.3 {
			img.Vulnerabilities = 1 + rng.Int32N(1+rng.Int32N(400))
		}
		if heavy := fnvOf(seed, i) % 100; heavy < 3 { // a few images carry several pages of them
			img.Vulnerabilities = 400 + int32(fnvOf(seed, i+1)%500)
		}
		img.UnsafeSettings = rng.Int32N(8)
		if rng.Float64() < 0.02 {
			img.MaliciousFiles = 1 + rng.Int32N(3)
		}
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

// fnvOf hashes a seed and an index, for draws that leave the generator's
// sequence alone.
func fnvOf(seed int64, i int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d", seed, i)
	return h.Sum64()
}

func drawFileSize(rng *rand.Rand) int64 {
	r := rng.Float64()
	for _, b := range fileSizeBands {
		if r < b.share {
			return b.min + rng.Int64N(b.max-b.min)
		}
		r -= b.share
	}
	last := fileSizeBands[len(fileSizeBands)-1]
	return last.min + rng.Int64N(last.max-last.min)
}
