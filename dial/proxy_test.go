package dial_test

import (
	"errors"
	"testing"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
)

// A ProxyCommand that exits unsuccessfully is told apart from a server that
// closed the connection: the handshake error wraps a *dial.ProxyExitError.
// One that exits 0 (a netcat whose server hung up) is not marked.
func TestDialProxyCommandExit(t *testing.T) {
	tests := []struct {
		name       string
		command    string
		wantStatus int
		wantMarked bool
	}{
		{name: "exit 3", command: "sh -c 'exit 3'", wantStatus: 3, wantMarked: true},
		{name: "exit 0", command: "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := config.Destination{HostName: "127.0.0.1", Port: 22, User: "git", PubkeyAuthentication: true, StrictHostKeyChecking: "yes", ProxyCommand: tt.command}
			err := dialErr(t, d, dial.Options{})
			hs, ok := errors.AsType[*dial.HandshakeError](err)
			if !ok || !hs.BeforeKex {
				t.Fatalf("Dial through ProxyCommand %q = %v, want a *dial.HandshakeError before kex", tt.command, err)
			}
			pe, marked := errors.AsType[*dial.ProxyExitError](err)
			if marked != tt.wantMarked || (marked && pe.Status != tt.wantStatus) {
				t.Errorf("Dial through ProxyCommand %q = %v; want a *dial.ProxyExitError %v (status %d)", tt.command, err, tt.wantMarked, tt.wantStatus)
			}
			if want := "kex_exchange_identification: "; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
				t.Errorf("Dial error = %q, want it to start with %q", err.Error(), want)
			}
		})
	}
}
