package config

// HasProxyCommand reports whether d, or any hop on the way to it, is
// reached through a ProxyCommand: a program that runs on the client's
// behalf, with its environment and in its working directory.
func (d Destination) HasProxyCommand() bool {
	if d.ProxyCommand != "" {
		return true
	}
	for _, j := range d.Jumps {
		if j.HasProxyCommand() {
			return true
		}
	}
	return false
}
