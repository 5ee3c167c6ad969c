package spec

import (
	"bytes"
	"testing"
)

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"ociVersion":"1.0.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decode(bytes.NewReader(data), "fuzz.json")
		if err == nil && s != nil && s.Process != nil {
			_ = ValidateProcess(s.Process)
		}
	})
}

func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"a", "..", "a/b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateID(id) == nil && (bytes.ContainsAny([]byte(id), "/\x00") || id == ".." || id == ".") {
			t.Fatalf("accepted unsafe id %q", id)
		}
	})
}
