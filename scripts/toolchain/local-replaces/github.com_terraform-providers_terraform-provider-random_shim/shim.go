// Package shim stands in for pulumi-random's provider/shim, a nested module
// that provider/go.mod pulls in with a local replace (so it is not in the
// provider's module zip). It lives under the upstream module's import path so
// that it may import the upstream provider's internal package.
// scripts/toolchain.sh copies this directory into its wrapper module and
// writes the go.mod.
package shim

import (
	tfpf "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream Terraform random provider.
func NewProvider() tfpf.Provider {
	return provider.New()
}
