package mux

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// serverLimits is what a server showed about the channels it allows on one
// connection. It is learned from refusals and remembered across masters.
type serverLimits struct {
	// Channels is how many session channels one connection may have open
	// at once; 0 means no refusal has been seen.
	Channels int `json:"channels,omitempty"`
	// NoReuse is a server that refuses a new channel on a connection that
	// already had one, even after it closed.
	NoReuse bool `json:"no_reuse,omitempty"`
	// OneSession is a server that ends the connection when its first
	// session ends (tinysshd): every command needs a connection of its own.
	OneSession bool `json:"one_session,omitempty"`
	// NoWarm is a server that refuses session channels opened ahead of
	// their command (warm.go).
	NoWarm  bool      `json:"no_warm,omitempty"`
	Learned time.Time `json:"learned"`
}

// maxChannels bounds a learned channel limit. A file that says more (or
// less than zero) is not to be trusted: no server counts that high, and a
// negative limit would make every connection full.
const maxChannels = 1024

// maxLimitsFile bounds the size of the limits file that is read: a few
// dozen bytes per server.
const maxLimitsFile = 1 << 20

// invalid reports what makes no sense in l, or "".
func (l serverLimits) invalid() string {
	if l.Channels < 0 || l.Channels > maxChannels {
		return fmt.Sprintf("channels %d not in 0..%d", l.Channels, maxChannels)
	}
	return ""
}

// limitStore keeps serverLimits per server ("host:port") in a JSON file.
// A missing or unreadable file is an empty store: what was learned once can
// be learned again. The file is not trusted: one larger than 1 MiB, or not
// JSON, is ignored, and so is every entry that makes no sense, each with a
// log line.
//
// learn changes the store in memory only, so that a pool may call it with
// its own lock held; save writes the file, and is called with no pool's
// lock held (a pool starts it in a goroutine of its own).
type limitStore struct {
	path string // "" keeps everything in memory
	// writeFile replaces the file at path with data, atomically. It is
	// writeFileAtomic; tests slow it down.
	writeFile func(path string, data []byte) error

	// saveMu makes saves one at a time, so that the file never goes back
	// to older contents. It is taken before mu, and never with a pool's
	// mu held.
	saveMu sync.Mutex

	// mu guards the fields that follow. It is the last lock taken:
	// Master.mu → pool.mu → limitStore.mu.
	mu      sync.Mutex
	limits  map[string]serverLimits
	changes int // learns so far
	saved   int // of which the file holds all up to here
}

// loadLimits reads the store at path ("": in memory only), logging to log
// what it ignores.
func loadLimits(path string, log *slog.Logger) *limitStore {
	s := &limitStore{path: path, writeFile: writeFileAtomic, limits: make(map[string]serverLimits)}
	if path == "" {
		return s
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	read, err := readLimits(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("ignoring the server limits file", "path", path, "err", err)
		}
		return s
	}
	for server, l := range read {
		if _, _, err := net.SplitHostPort(server); err != nil {
			log.Warn("ignoring server limits", "path", path, "server", server, "err", err)
			continue
		}
		if why := l.invalid(); why != "" {
			log.Warn("ignoring server limits", "path", path, "server", server, "err", why)
			continue
		}
		s.limits[server] = l
	}
	return s
}

// readLimits reads and decodes the file at path, up to maxLimitsFile bytes.
func readLimits(path string) (map[string]serverLimits, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxLimitsFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxLimitsFile {
		return nil, fmt.Errorf("larger than %d bytes", maxLimitsFile)
	}
	var limits map[string]serverLimits
	if err := json.Unmarshal(b, &limits); err != nil {
		return nil, err
	}
	return limits, nil
}

func (s *limitStore) get(server string) serverLimits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits[server]
}

// learn records a change for server, in memory: save writes it.
func (s *limitStore) learn(server string, change func(*serverLimits)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limits[server]
	change(&l)
	l.Learned = time.Now().UTC().Truncate(time.Second)
	s.limits[server] = l
	s.changes++
}

// save writes what was learned to the file, unless the file holds it
// already. A save that returns nil has written every change learned before
// it was called; one that fails leaves them for the next save.
func (s *limitStore) save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if s.path == "" || s.saved == s.changes {
		s.mu.Unlock()
		return nil
	}
	changes := s.changes
	b, err := json.MarshalIndent(s.limits, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save server limits: %w", err)
	}
	if err := s.writeFile(s.path, append(b, '\n')); err != nil {
		return fmt.Errorf("save server limits: %w", err)
	}
	s.mu.Lock()
	s.saved = changes
	s.mu.Unlock()
	return nil
}

// writeFileAtomic writes data to path through a temporary file and a
// rename: a crash leaves the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".limits-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
