package mux

import (
	"encoding/json"
	"errors"
	"fmt"
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
	NoReuse bool      `json:"no_reuse,omitempty"`
	Learned time.Time `json:"learned"`
}

// limitStore keeps serverLimits per server ("host:port") in a JSON file.
// A missing or unreadable file is an empty store: what was learned once can
// be learned again.
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

func loadLimits(path string) *limitStore {
	s := &limitStore{path: path, writeFile: writeFileAtomic, limits: make(map[string]serverLimits)}
	if path == "" {
		return s
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return s
	}
	if err := json.Unmarshal(b, &s.limits); err != nil || s.limits == nil {
		s.limits = make(map[string]serverLimits)
	}
	return s
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
