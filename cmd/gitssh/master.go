package main

// The master process: "gitssh --master DIR PERSIST", started detached by a
// client (viamaster.go, spawn_*.go).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/mux"
)

// masterFlag is the hidden argument that makes gitssh the master:
// "gitssh --master DIR PERSIST".
const masterFlag = "--master"

// limitsFile is where the master remembers what servers allow.
func limitsFile(env map[string]string, home string) string {
	if d := cacheHome(env); d != "" {
		return filepath.Join(d, "gitssh", "limits.json")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".cache", "gitssh", "limits.json")
}

// runMaster is the master process: "gitssh --master DIR PERSIST", started
// by startMaster (startDetached).
func runMaster(ctx context.Context, args []string, env map[string]string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "gitssh: --master takes DIR PERSIST")
		return 2
	}
	dir := args[0]
	persist, err := time.ParseDuration(args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "gitssh: --master: %v\n", err)
		return 2
	}
	level := slog.LevelInfo
	if env["GITSSH_DEBUG"] != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	home := localEnv(env).Home
	m := mux.NewMaster(mux.MasterConfig{
		Version:    version(),
		Persist:    persist,
		LimitsFile: limitsFile(env, home),
		Logger:     log,
		// Warm channels are on unless GITSSH_WARM=0 is in the
		// environment of the client that starts the master.
		Pool:        mux.PoolConfig{NoWarmChannels: env["GITSSH_WARM"] == "0"},
		ProxyStderr: os.Stderr,
		NewReporter: func(w io.Writer, d config.Destination) mux.Reporter {
			return newUI(w, d)
		},
	})
	err = m.Serve(ctx, mux.SocketPath(dir), readySignal())
	if err != nil {
		log.Error("master", "err", err)
		return 1
	}
	return 0
}
