package dial

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// visBanner makes a server's pre-authentication banner safe for a terminal,
// as OpenSSH's fmprintf (utf8.c) does before printing it: newline, carriage
// return and tab are kept, and so is every printable character; any other
// byte (a control character such as ESC, DEL, a C1 control, a byte that is
// not valid UTF-8) is written as a backslash and three octal digits, as
// vis(3) with VIS_OCTAL writes it ("\033" for ESC). A backslash is printable
// and is kept as it is, as in OpenSSH.
//
// gitssh reads no locale: the banner is taken as UTF-8, so a printable
// non-ASCII character is kept, as OpenSSH keeps it under a UTF-8 locale.
// (Under a C or other ASCII locale OpenSSH escapes every non-ASCII byte.)
// Printable means a Unicode graphic character (letters, marks, numbers,
// punctuation, symbols, the space separators) or a format character, which
// is what wcwidth(3) gives a width of 0 or more in a UTF-8 locale.
func visBanner(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		r, n := utf8.DecodeRuneInString(msg[i:])
		if r == '\n' || r == '\r' || r == '\t' || (r != utf8.RuneError || n > 1) && printable(r) {
			b.WriteString(msg[i : i+n])
		} else {
			for _, c := range []byte(msg[i : i+n]) {
				b.WriteByte('\\')
				b.WriteByte('0' + c>>6)
				b.WriteByte('0' + c>>3&7)
				b.WriteByte('0' + c&7)
			}
		}
		i += n
	}
	return b.String()
}

func printable(r rune) bool {
	return unicode.IsGraphic(r) || unicode.Is(unicode.Cf, r)
}
