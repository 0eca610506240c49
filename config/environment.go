package config

import "strings"

// Environment returns the NAME=value pairs to send to the server for a
// session: the variables of environ (in "NAME=value" form, like os.Environ)
// whose names match a SendEnv pattern, in environ's order, then the SetEnv
// values. A variable set by SetEnv is not also taken from environ.
func (d Destination) Environment(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || lookupEnv(d.SetEnv, name) >= 0 {
			continue
		}
		for _, pat := range d.SendEnv {
			if matchPattern(name, pat) {
				out = append(out, kv)
				break
			}
		}
	}
	return append(out, d.SetEnv...)
}
