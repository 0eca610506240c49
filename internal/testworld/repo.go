package testworld

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// gitEnv is the environment MakeBareRepo runs git with: no system or
// global configuration and a fixed identity and date, so that the
// repositories (and their commit ids) are the same on every machine.
var gitEnv = []string{
	"GIT_CONFIG_NOSYSTEM=1",
	"GIT_CONFIG_GLOBAL=" + os.DevNull,
	"GIT_AUTHOR_NAME=gitssh testworld",
	"GIT_AUTHOR_EMAIL=testworld@example.com",
	"GIT_COMMITTER_NAME=gitssh testworld",
	"GIT_COMMITTER_EMAIL=testworld@example.com",
	"LC_ALL=C",
}

// MakeBareRepo creates a bare git repository at path (which must not
// exist yet) whose branch main has the given number of commits, each
// adding a file "fileN.txt" and changing README. The default branch is
// main. The content and commit ids are deterministic.
func MakeBareRepo(path string, commits int) error {
	git, err := LookTool("git")
	if err != nil {
		return fmt.Errorf("testworld: git not found: %w", err)
	}
	run := func(stdin string, args ...string) error {
		cmd := exec.Command(git, args...)
		cmd.Env = append(os.Environ(), gitEnv...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("testworld: git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("", "init", "--quiet", "--bare", "--initial-branch=main", path); err != nil {
		return err
	}
	if commits <= 0 {
		return nil
	}
	// One git fast-import builds the whole history; a loop of git add and
	// git commit would cost two processes per commit.
	var b strings.Builder
	const date = 1700000000
	for i := 1; i <= commits; i++ {
		msg := fmt.Sprintf("commit %d\n", i)
		readme := fmt.Sprintf("%s has %d commits so far\n", filepath.Base(path), i)
		file := strings.Repeat(fmt.Sprintf("line of file %d\n", i), 64)
		fmt.Fprintf(&b, "commit refs/heads/main\n")
		fmt.Fprintf(&b, "author gitssh testworld <testworld@example.com> %d +0000\n", date+i)
		fmt.Fprintf(&b, "committer gitssh testworld <testworld@example.com> %d +0000\n", date+i)
		fmt.Fprintf(&b, "data %d\n%s", len(msg), msg)
		fmt.Fprintf(&b, "M 644 inline README\ndata %d\n%s\n", len(readme), readme)
		fmt.Fprintf(&b, "M 644 inline file%d.txt\ndata %d\n%s\n", i, len(file), file)
	}
	return run(b.String(), "--git-dir="+path, "fast-import", "--quiet")
}

// MakeRepos creates n bare repositories dir/r1.git ... dir/rN.git with
// three commits each and returns their paths. dir is created if missing.
func MakeRepos(dir string, n int) ([]string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for i := 1; i <= n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("r%d.git", i))
		if err := MakeBareRepo(p, 3); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
