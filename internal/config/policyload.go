package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/rezigate/rezigate/internal/optionerr"
)

// LoadPolicy reads the file at path and the environment as [Load] does,
// but checks only what judging a request needs: that the file decodes
// (unknown keys are still errors) and that the policy keys are valid.
// Secrets and the other required keys need not be set, so an operator can
// ask about a deployment's file from a shell without its secrets.
func LoadPolicy(path string, environ []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoFile)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	c := Defaults()
	probs := c.decode(data)
	if len(probs) == 0 || probs[0].where != "config" {
		probs = append(probs, c.applyEnv(environ)...)
	}
	if len(probs) == 0 {
		for _, fe := range optionerr.Fields(c.PolicyOptions().Validate()) {
			if p, ok := yamlPath(fe.Pkg, fe.Field); ok {
				probs = append(probs, &problem{c.where(p), fe.Msg})
			}
		}
	}
	if len(probs) > 0 {
		return nil, joinProblems(probs)
	}
	return &c, nil
}
