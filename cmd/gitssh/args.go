package main

import (
	"fmt"
	"strings"

	"github.com/gitssh/gitssh/config"
)

// invocation is one parsed command line.
type invocation struct {
	req     config.Request
	command []string // the remote command's words, joined with spaces as ssh does

	printConfig bool   // -G
	version     bool   // -V
	help        bool   // --help
	control     string // -O ctl_cmd
	stdinNull   bool   // -n
	ignored     []string

	setup, undo, force bool // --setup [--undo] [--force]: see setup.go
}

// usageError is a command line gitssh cannot run; it is reported with the
// usage text and exit status 255, as ssh does.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Flags of OpenSSH's ssh that gitssh does not act on. The ignored ones make
// no difference to a git command and are reported under -v; the unsupported
// ones change what ssh does (forwarding, subsystems, background modes), so
// running without them would misread the command line.
const (
	ignoredNoArg     = "12AaCgKkXxYyt"
	ignoredArg       = "bBcEeImPS"
	unsupportedNoArg = "fMNs"
	unsupportedArg   = "DLQRWw"
)

// parseArgs parses ssh's command line: options (clustered or not, values
// attached or not) up to and after the destination, "--", the destination,
// then the command.
func parseArgs(args []string) (*invocation, error) {
	inv := &invocation{}
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if strings.HasPrefix(a, "--") {
			// ssh has no long options: every --word is gitssh's own,
			// never a host.
			if err := inv.parseLong(a); err != nil {
				return nil, err
			}
			if inv.help {
				return inv, nil
			}
			i++
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			if inv.req.Destination != "" {
				break // the command starts here
			}
			inv.req.Destination = a
			i++
			continue
		}
		next, err := inv.parseFlags(args, i)
		if err != nil {
			return nil, err
		}
		i = next
	}
	if inv.req.Destination == "" && i < len(args) {
		inv.req.Destination = args[i]
		i++
	}
	inv.command = args[i:]
	if (inv.undo || inv.force) && !inv.setup {
		return nil, &usageError{"--undo and --force go with --setup"}
	}
	if inv.setup {
		if inv.req.Destination != "" {
			return nil, &usageError{"--setup takes no destination"}
		}
		return inv, nil
	}
	if inv.req.Destination == "" && !inv.version && !inv.help && inv.control == "" {
		return nil, &usageError{"missing destination"}
	}
	return inv, nil
}

// parseLong parses one of gitssh's own long options.
func (inv *invocation) parseLong(a string) error {
	switch a {
	case "--help":
		inv.help = true
	case "--setup":
		inv.setup = true
	case "--undo":
		inv.undo = true
	case "--force":
		inv.force = true
	default:
		return &usageError{fmt.Sprintf("unknown option %s", a)}
	}
	return nil
}

// parseFlags parses the cluster of flags at args[i] and returns the index
// of the next argument.
func (inv *invocation) parseFlags(args []string, i int) (int, error) {
	cluster := args[i][1:]
	for j := 0; j < len(cluster); j++ {
		f := cluster[j]
		takesArg := strings.IndexByte("FiJlOop"+ignoredArg+unsupportedArg, f) >= 0
		var val string
		if takesArg {
			switch {
			case j+1 < len(cluster):
				val = cluster[j+1:]
			case i+1 < len(args):
				i++
				val = args[i]
			default:
				return 0, &usageError{fmt.Sprintf("option requires an argument -- %c", f)}
			}
		}
		switch f {
		case '4':
			inv.req.AddressFamily = "inet"
		case '6':
			inv.req.AddressFamily = "inet6"
		case 'G':
			inv.printConfig = true
		case 'T':
			// gitssh never allocates a terminal: -T is what it always does.
		case 'V':
			inv.version = true
		case 'q':
			inv.req.Quiet = true
		case 'v':
			inv.req.Verbose++
		case 'n':
			inv.stdinNull = true
		case 'F':
			inv.req.ConfigFile = val
		case 'i':
			inv.req.Identities = append(inv.req.Identities, val)
		case 'J':
			inv.req.Options = append(inv.req.Options, "ProxyJump="+val)
		case 'l':
			inv.req.User = val
		case 'O':
			inv.control = val
		case 'o':
			inv.req.Options = append(inv.req.Options, val)
		case 'p':
			inv.req.Port = val
		default:
			switch {
			case strings.IndexByte(ignoredNoArg, f) >= 0:
				inv.ignored = append(inv.ignored, "-"+string(f))
			case strings.IndexByte(ignoredArg, f) >= 0:
				inv.ignored = append(inv.ignored, "-"+string(f)+" "+val)
			case strings.IndexByte(unsupportedNoArg+unsupportedArg, f) >= 0:
				return 0, &usageError{fmt.Sprintf("option -%c is not supported: gitssh only runs remote commands", f)}
			default:
				return 0, &usageError{fmt.Sprintf("unknown option -- %c", f)}
			}
		}
		if takesArg {
			break
		}
	}
	return i + 1, nil
}

// remoteCommand is the command line sent to the server.
func (inv *invocation) remoteCommand() string {
	return strings.Join(inv.command, " ")
}

// printsOnly reports whether args ask only to print something and exit
// (-G, -V, --help, a usage error), touching no network.
func printsOnly(args []string) bool {
	if len(args) > 0 && args[0] == masterFlag {
		return false
	}
	inv, err := parseArgs(args)
	return err != nil || (inv.control == "" && !inv.setup && (inv.printConfig || inv.version || inv.help))
}
