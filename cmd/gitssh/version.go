package main

import (
	"cmp"
	"runtime/debug"
)

// Set at link time by scripts/release:
//
//	-ldflags "-X main.buildVersion=v0.3.0 -X main.buildCommit=abc1234..."
var (
	buildVersion string
	buildCommit  string
)

// version is the version gitssh reports (-V) and the master's hello
// carries: "v0.3.0 (commit abc1234)". The version and commit stamped at
// link time win; without them they come from the build information Go
// records: the module version (go install ...@v0.3.0) and the VCS
// revision (a build in a git checkout).
func version() string {
	info, _ := debug.ReadBuildInfo()
	return formatVersion(buildVersion, buildCommit, info)
}

func formatVersion(stampedVersion, stampedCommit string, info *debug.BuildInfo) string {
	v, commit, modified := stampedVersion, stampedCommit, false
	if info != nil {
		if v == "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		if commit == "" {
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
		}
	}
	v = cmp.Or(v, "devel")
	if commit == "" {
		return v
	}
	commit = commit[:min(len(commit), 7)]
	if modified {
		commit += ", modified"
	}
	return v + " (commit " + commit + ")"
}
