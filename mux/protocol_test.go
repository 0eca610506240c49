package mux

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gitssh/gitssh/config"
)

// TestProtocolDocMatchesCode holds PROTOCOL.md and the code together: the
// message table names every message type with its number, and each body's
// JSON fields are the ones the page gives.
func TestProtocolDocMatchesCode(t *testing.T) {
	b, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	if !strings.Contains(doc, "protocol version **"+strconv.Itoa(protocolVersion)+"**") {
		t.Errorf("PROTOCOL.md does not say it describes version %d", protocolVersion)
	}

	row := regexp.MustCompile("(?m)^\\| (\\d+) \\| `([a-z-]+)` \\| [^|]+\\| ([^|]+)\\|")
	rows := map[msgType]string{} // type -> body column
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		n, _ := strconv.Atoi(m[1])
		typ := msgType(n)
		if !typ.known() || typ.String() != m[2] {
			t.Errorf("PROTOCOL.md lists type %d as %q; the code calls it %v", n, m[2], typ)
		}
		rows[typ] = m[3]
	}
	for typ := msgHello; typ.known(); typ++ {
		if _, ok := rows[typ]; !ok {
			t.Errorf("PROTOCOL.md's message table has no row for %v (type %d)", typ, typ)
		}
	}

	bodies := map[msgType]any{
		msgHello: hello{}, msgPrompt: prompt{}, msgAnswer: answer{}, msgExit: exitMsg{},
		msgControl: controlReq{}, msgControlReply: controlReply{}, msgWindow: windowMsg{},
	}
	for typ, body := range bodies {
		for _, name := range jsonFields(reflect.TypeOf(body)) {
			if !strings.Contains(rows[typ], `"`+name+`"`) {
				t.Errorf("PROTOCOL.md's %v row %q lacks field %q", typ, rows[typ], name)
			}
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[Request](), reflect.TypeFor[config.Destination]()} {
		for _, name := range jsonFields(typ) {
			if !strings.Contains(doc, "`"+name+"`") {
				t.Errorf("PROTOCOL.md does not name %s's field %q", typ, name)
			}
		}
	}
}

// jsonFields returns the JSON names of t's exported fields.
func jsonFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		names = append(names, tag)
	}
	return names
}
