package layout

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gitssh/gitssh"

type goPackage struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Deps       []string
	GoFiles    []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rule is an import a package must not have, and why: the reason is the
// documentation of the layering (STYLE.md rule 1).
type rule struct {
	pkg, banned string
	direct      bool // only direct imports count; otherwise any dependency
	reason      string
}

var rules = []rule{
	{"", module + "/internal/sshtest", false, "sshtest is a test fixture: production code never depends on it"},
	{"", "testing", false, "production code does not link the testing package"},
	{"config", module + "/mux", false, "config resolves options; it knows nothing of connections"},
	{"config", module + "/dial", false, "config resolves options; it knows nothing of connections"},
	{"config", "golang.org/x/crypto/ssh", false, "config is about files and flags, not SSH"},
	{"keepalive", module + "/mux", false, "keepalive watches one connection; pools are mux's"},
	{"keepalive", module + "/dial", false, "keepalive watches one connection; dialling is dial's"},
	{"keepalive", "golang.org/x/crypto/ssh", false, "keepalive takes a three-method interface, not the library"},
	{"dial", module + "/mux", false, "dial makes one connection; it knows nothing of pools"},
	{"cmd/gitssh", "golang.org/x/crypto/ssh", true, "the command words messages; SSH is mux's and dial's"},
}

func TestImports(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, r := range rules {
			if r.pkg != "" && r.pkg != rel {
				continue
			}
			if strings.HasPrefix(rel, "internal/sshtest") || strings.HasPrefix(rel, "internal/testworld") || strings.HasPrefix(rel, "scripts") {
				continue // test helpers and scripts may use what they like
			}
			deps := p.Deps
			if r.direct {
				deps = p.Imports
			}
			if slices.Contains(deps, r.banned) {
				t.Errorf("%s imports %s: %s", p.ImportPath, r.banned, r.reason)
			}
		}
	}
}

func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.GoFiles) == 0 {
			continue
		}
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "The " // "The gitssh command ...", "The world command ..."
		}
		if !strings.HasPrefix(p.Doc, want) {
			t.Errorf("%s: package comment %q should start with %q (in doc.go)", p.ImportPath, p.Doc, want)
		}
	}
}
