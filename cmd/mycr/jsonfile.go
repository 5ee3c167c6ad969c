package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// readJSONFile decodes a JSON file ("-" = stdin) with an error that names it.
func readJSONFile(path string, v any) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if err := json.NewDecoder(io.LimitReader(r, 4<<20)).Decode(v); err != nil {
		return fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	return nil
}
