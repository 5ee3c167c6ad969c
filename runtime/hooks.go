package runtime

import (
	"slices"

	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// addOnceHooks puts hooks before the config's own. Each list runs once and then
// leaves the config, so libcontainer neither runs it again nor tries to save it
// in the container's state (function hooks cannot be saved: it warns).
func addOnceHooks(config *configs.Config, hooks configs.Hooks) {
	for name, list := range hooks {
		if len(list) == 0 {
			continue
		}
		if config.Hooks == nil {
			config.Hooks = configs.Hooks{}
		}
		own := config.Hooks[name]
		once := configs.NewFunctionHook(func(s *specs.State) error {
			// A new slice: libcontainer is ranging over the old one right now.
			config.Hooks[name] = slices.Clone(own)
			return configs.Hooks{name: list}.Run(name, s)
		})
		config.Hooks[name] = append([]configs.Hook{once}, own...)
	}
}
