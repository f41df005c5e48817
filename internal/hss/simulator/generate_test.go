package simulator

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

func TestGenerateIsDeterministicAndVaried(t *testing.T) {
	g := NewWithT(t)
	imgs := Generate(1000, 42)
	g.Expect(imgs).To(Equal(Generate(1000, 42)))
	g.Expect(imgs).NotTo(Equal(Generate(1000, 43)))

	keys := map[key]bool{}
	types := map[string]int{}
	namespaces := map[string]bool{}
	for _, im := range imgs {
		g.Expect(validate(im)).To(Succeed())
		g.Expect(im.ImageID).To(MatchRegexp(`^sha256:[0-9a-f]{64}$`))
		g.Expect(im.FilesNum).To(BeNumerically(">", 0))
		g.Expect(im.FilesSize).To(BeNumerically(">", 0))
		g.Expect(keys).NotTo(HaveKey(im.key()))
		keys[im.key()] = true
		types[im.Type]++
		namespaces[im.Namespace] = true
	}
	g.Expect(types).To(HaveLen(3))
	g.Expect(len(namespaces)).To(BeNumerically(">=", 5))
}

func TestLoadInventoryReadsTheShippedExample(t *testing.T) {
	g := NewWithT(t)
	imgs, err := LoadInventory(filepath.Join("..", "..", "..", "hack", "hss-simulator", "inventory.example.json"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(imgs).NotTo(BeEmpty())
}

func TestLoadInventoryRejectsInvalidImages(t *testing.T) {
	cases := []struct{ name, json string }{
		{"not json", `{"images": [`},
		{"unknown type", `{"images":[{"image_type":"cicd","namespace":"a","image_name":"b","image_version":"c"}]}`},
		{"missing tag", `{"images":[{"image_type":"private_image","namespace":"a","image_name":"b"}]}`},
		{"bad digest", `{"images":[{"image_type":"private_image","namespace":"a","image_name":"b","image_version":"c","image_id":"sha256:xyz"}]}`},
		{"negative files size", `{"images":[{"image_type":"private_image","namespace":"a","image_name":"b","image_version":"c","files_size":-1}]}`},
		{"negative findings", `{"images":[{"image_type":"private_image","namespace":"a","image_name":"b","image_version":"c","vul_num":-3}]}`},
		{"forced outcome not terminal", `{"images":[{"image_type":"private_image","namespace":"a","image_name":"b","image_version":"c","forced_outcome":"scanning"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := filepath.Join(t.TempDir(), "inventory.json")
			g.Expect(os.WriteFile(p, []byte(tc.json), 0o600)).To(Succeed())
			_, err := LoadInventory(p)
			g.Expect(err).To(MatchError(ContainSubstring(p)))
		})
	}
}

func TestGenerateShapesSizesAndFindingsLikeAProductionRegistry(t *testing.T) {
	g := NewWithT(t)
	imgs := Generate(10000, 7)
	var over2GiB, over4GiB, vulnerable, malicious int
	var largest int64
	for _, im := range imgs {
		g.Expect(im.FilesSize).To(BeNumerically(">=", 1<<20))
		g.Expect(im.FilesSize).To(BeNumerically("<=", 15<<30))
		g.Expect(im.Size).To(BeNumerically("<", im.FilesSize), "layers are compressed")
		g.Expect(im.FilesNum).To(BeNumerically(">", 0))
		largest = max(largest, im.FilesSize)
		if im.FilesSize > 1<<31 {
			over2GiB++
		}
		if im.FilesSize > 1<<32 {
			over4GiB++
		}
		if im.Vulnerabilities > 0 {
			vulnerable++
		}
		if im.MaliciousFiles > 0 {
			malicious++
			g.Expect(im.MaliciousFiles).To(BeNumerically("<=", 3))
		}
	}
	// The documented shares: 25% above 2^31 bytes, 10% above 2^32, 70%
	// with vulnerabilities, 2% with malicious files.
	g.Expect(over2GiB).To(BeNumerically("~", 2500, 200))
	g.Expect(over4GiB).To(BeNumerically("~", 1000, 150))
	g.Expect(largest).To(BeNumerically(">", 14<<30))
	g.Expect(vulnerable).To(BeNumerically("~", 7000, 300))
	g.Expect(malicious).To(BeNumerically("~", 200, 80))
}
