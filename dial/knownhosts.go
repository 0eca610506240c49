package dial

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// This file reads known_hosts files as OpenSSH does: a line that does not
// parse (bad base64, a key type this client does not know, a broken host
// pattern) is skipped, with a debug line naming it, instead of making the
// whole file, and every connection, fail. The known_hosts libraries parse a
// whole file and give up at its first bad line, so each file is checked
// line by line first, and a file with bad lines is handed to them as a
// private copy in which those lines are blank: line numbers stay those of
// the user's file, and the copy's name is mapped back in messages.

// maxKnownHostsLine bounds a known_hosts line, as the libraries' line
// scanner does; a longer line is skipped like any line that does not parse.
const maxKnownHostsLine = 64 * 1024

// knownHostsDB is the parsed known_hosts files of one Destination.
type knownHostsDB struct {
	*knownhosts.HostKeyDB
	// names maps the name of a filtered copy back to the user's file.
	names map[string]string
}

// loadKnownHosts reads the files that exist among files. Lines that do not
// parse are reported through debugf, in OpenSSH's words, and skipped.
func loadKnownHosts(files []string, debugf func(string, ...any)) (*knownHostsDB, error) {
	db := &knownHostsDB{names: map[string]string{}}
	var paths []string
	defer func() {
		for copyName := range db.names {
			os.Remove(copyName)
		}
	}()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			// A missing or unreadable file holds no keys, as in OpenSSH.
			if !errors.Is(err, os.ErrNotExist) {
				debugf("load_hostkeys: %v", err)
			}
			continue
		}
		clean, bad := filterKnownHosts(data)
		for _, n := range bad {
			debugf("%s:%d: parse error in hostkeys file", f, n)
		}
		if len(bad) == 0 {
			paths = append(paths, f)
			continue
		}
		tmp, err := os.CreateTemp("", "gitssh-known_hosts-*")
		if err != nil {
			return nil, fmt.Errorf("read known hosts: %w", err)
		}
		db.names[tmp.Name()] = f
		_, err = tmp.Write(clean)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("read known hosts: %w", err)
		}
		paths = append(paths, tmp.Name())
	}
	hk, err := knownhosts.NewDB(paths...)
	if err != nil {
		return nil, fmt.Errorf("read known hosts: %s", db.unmap(err.Error()))
	}
	db.HostKeyDB = hk
	return db, nil
}

// fileName is the user's name for a file the libraries report.
func (db *knownHostsDB) fileName(name string) string {
	if orig, ok := db.names[name]; ok {
		return orig
	}
	return name
}

func (db *knownHostsDB) unmap(s string) string {
	for copyName, orig := range db.names {
		s = strings.ReplaceAll(s, copyName, orig)
	}
	return s
}

// filterKnownHosts returns data with every line that does not parse made
// blank, and the numbers (from 1) of those lines.
func filterKnownHosts(data []byte) ([]byte, []int) {
	lines := bytes.Split(data, []byte("\n"))
	var bad []int
	for i, l := range lines {
		if knownHostsLineOK(l) {
			continue
		}
		bad = append(bad, i+1)
		lines[i] = nil
	}
	if len(bad) == 0 {
		return data, nil
	}
	return bytes.Join(lines, []byte("\n")), bad
}

// knownHostsLineOK reports whether a known_hosts line is blank, a comment,
// or an entry that x/crypto's knownhosts parses: an optional marker, host
// patterns (plain, or hashed "|1|salt|hash"), a key type and a key of that
// type.
func knownHostsLineOK(line []byte) bool {
	if len(line) > maxKnownHostsLine {
		return false
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return true
	}
	fields := strings.Fields(string(line))
	if fields[0] == "@cert-authority" || fields[0] == "@revoked" {
		fields = fields[1:]
	}
	if len(fields) < 3 || strings.HasPrefix(fields[0], "@") {
		return false
	}
	hosts, keyType, blob := fields[0], fields[1], fields[2]
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return false
	}
	key, err := ssh.ParsePublicKey(raw)
	if err != nil || key.Type() != keyType {
		return false
	}
	return hostPatternsOK(hosts) == nil
}

// hostPatternsOK checks the host field of a known_hosts line as the
// library will.
func hostPatternsOK(hosts string) error {
	if hosts[0] == '|' {
		parts := strings.Split(hosts, "|")
		if len(parts) != 4 || parts[1] != "1" {
			return errors.New("bad hashed host")
		}
		for _, p := range parts[2:] {
			if _, err := base64.StdEncoding.DecodeString(p); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range strings.Split(hosts, ",") {
		if p == "" {
			continue
		}
		p = strings.TrimPrefix(p, "!")
		if p == "" {
			return errors.New("negation without a host")
		}
		if p[0] == '[' {
			if _, _, err := net.SplitHostPort(p); err != nil {
				return err
			}
		}
	}
	return nil
}
