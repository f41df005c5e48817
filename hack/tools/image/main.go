// Command image builds a multi-platform OCI image from prebuilt static
// binaries (see package imagebuild), the manager's unless --program says
// otherwise, and prints its index digest.
//
//	go -C hack/tools run ./image --ref REF --created UNIX \
//	  --binary linux/amd64=PATH --binary linux/arm64=PATH \
//	  --layout DIR --tar FILE [--program hss-simulator --title TITLE]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hss-dev/imagescan-operator/hack/tools/imagebuild"
)

type binaries []string

func (b *binaries) String() string     { return strings.Join(*b, ",") }
func (b *binaries) Set(v string) error { *b = append(*b, v); return nil }

func main() {
	var bins binaries
	ref := flag.String("ref", "", "image reference recorded in the tarball")
	created := flag.Int64("created", 0, "creation time of every file and of the image, in Unix seconds")
	layoutDir := flag.String("layout", "", "directory to write the OCI layout to (none when empty)")
	tarFile := flag.String("tar", "", "file to write the docker-loadable tarball (first platform) to")
	flag.Var(&bins, "binary", "OS/ARCH=PATH of a static binary; repeat per platform")
	program := flag.String("program", imagebuild.Manager.Name, "name of the binary in the image, its entrypoint")
	title := flag.String("title", imagebuild.Manager.Title, "the image's title label")
	flag.Parse()
	digest, err := imagebuild.Build(imagebuild.Program{Name: *program, Title: *title}, bins, *ref, time.Unix(*created, 0), *layoutDir, *tarFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Println(digest)
}
