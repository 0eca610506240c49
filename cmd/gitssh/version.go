package main

import "runtime/debug"

// buildVersion may be set at link time: -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion string

// version is the version gitssh reports, and later the master's hello.
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}
