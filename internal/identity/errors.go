package identity

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// classify words a TokenRequest failure for the ImageScan's owner.
func classify(sa types.NamespacedName, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: %q in namespace %q; create it, or name another in spec.serviceAccountName",
			ErrServiceAccountNotFound, sa.Name, sa.Namespace)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w for ServiceAccount %q: the platform has not bound the workload-identity role (config/workload-identity)",
			ErrTokenForbidden, sa.Name)
	}
	return fmt.Errorf("request a token for ServiceAccount %q: %w", sa.Name, err)
}
