package controller

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// objectMap keeps one value per object (an ImageScan or a Secret) for the
// manager's caches, which drop an entry when its object goes. The zero value
// is ready to use.
type objectMap[V any] struct {
	mu sync.Mutex
	m  map[types.NamespacedName]V
}

func (o *objectMap[V]) get(k types.NamespacedName) (V, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.m[k]
	return v, ok
}

func (o *objectMap[V]) set(k types.NamespacedName, v V) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.setLocked(k, v)
}

// setLocked is set for a caller that holds mu.
func (o *objectMap[V]) setLocked(k types.NamespacedName, v V) {
	if o.m == nil {
		o.m = map[types.NamespacedName]V{}
	}
	o.m[k] = v
}

// update replaces k's value with change(value), if k has one.
func (o *objectMap[V]) update(k types.NamespacedName, change func(V) V) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if v, ok := o.m[k]; ok {
		o.m[k] = change(v)
	}
}

func (o *objectMap[V]) forget(k types.NamespacedName) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, k)
}

func (o *objectMap[V]) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.m)
}
