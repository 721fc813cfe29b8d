package logging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestRotatingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "manifold.log")
	r, err := OpenRotating(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 39) + "\n" // 40 bytes: two lines per file
	for i := 0; i < 9; i++ {
		if _, err := r.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		fi, _ := e.Info()
		sizes[e.Name()] = fi.Size()
	}
	want := map[string]int64{"manifold.log": 40, "manifold.log.1": 80, "manifold.log.2": 80}
	if len(sizes) != len(want) {
		t.Fatalf("files %v, want %v", sizes, want)
	}
	for n, s := range want {
		if sizes[n] != s {
			t.Fatalf("files %v, want %v", sizes, want)
		}
	}
	// Reopening appends to the current file.
	r, err = OpenRotating(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	r.Write([]byte(line))
	r.Close()
	if fi, _ := os.Stat(path); fi.Size() != 80 {
		t.Fatalf("reopened file is %d bytes, want 80", fi.Size())
	}
}

func TestSetLevel(t *testing.T) {
	prev := zerolog.GlobalLevel()
	defer zerolog.SetGlobalLevel(prev)
	for _, l := range []string{"error", "warning", "info", "debug"} {
		if err := SetLevel(l); err != nil || Level() != l {
			t.Fatalf("SetLevel(%s): %v, Level()=%s", l, err, Level())
		}
	}
	if SetLevel("loud") == nil {
		t.Fatal("SetLevel accepts an unknown level")
	}
}
