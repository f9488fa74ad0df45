package builtin

import (
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/html")

// TestHTMLToTextGolden renders each testdata/html/*.html and compares it
// with the .txt beside it; run with -update after an intended change.
func TestHTMLToTextGolden(t *testing.T) {
	t.Parallel()

	files, err := filepath.Glob("testdata/html/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	base, _ := url.Parse("https://docs.example.com/guide/start.html")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			text, title, err := htmlToText(string(src), base)
			if err != nil {
				t.Fatal(err)
			}
			got := "Title: " + title + "\n\n" + text + "\n"
			golden := strings.TrimSuffix(file, ".html") + ".txt"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestHTMLToTextGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("htmlToText(%s) =\n%s\nwant\n%s", file, got, want)
			}
		})
	}
}

// TestHTMLToTextDeepNesting checks that a hostile page nested a thousand
// levels deep is refused with an error rather than walked.
func TestHTMLToTextDeepNesting(t *testing.T) {
	t.Parallel()

	doc := "<p>top</p>" + strings.Repeat("<div><span>", 1000) + "deep"
	if _, _, err := htmlToText(doc, nil); err == nil || !strings.Contains(err.Error(), "exceeds 512") {
		t.Errorf("htmlToText error = %v, want the parser's depth refusal", err)
	}
}
