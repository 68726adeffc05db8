/*
 * A fake libcuda.so.1 for running ebb's cuda tests on a machine without a
 * GPU. It implements only the driver calls that package cuda makes, with
 * the rules of the real driver that the package depends on:
 *
 *   - contexts are current per OS thread: cuCtxCreate makes the new context
 *     current on the calling thread, and memory calls fail with
 *     CUDA_ERROR_INVALID_CONTEXT on a thread where no live context is current;
 *   - cuMemAlloc of 0 bytes is CUDA_ERROR_INVALID_VALUE, and freeing a
 *     pointer the current context did not allocate is too;
 *   - memory is limited: EBB_FAKE_CUDA_TOTAL bytes (default 1 GiB), of which
 *     each live context takes 32 MiB, as a real context takes some;
 *   - cuCtxDestroy frees the context's allocations.
 *
 * It is no model of a GPU's behaviour beyond that. scripts/ci-cuda-check.sh
 * builds it against the fetched cuda.h:
 *
 *   gcc -shared -fPIC -I"$CUDA_INCLUDE" -o libcuda.so.1 libcuda.c -lpthread
 */
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTX_OVERHEAD ((size_t)32 << 20)
#define MAGIC 0x65626263u /* "ebbc" */

struct CUctx_st {
	unsigned magic;
	int alive;
	struct CUctx_st *prev; /* the context current before this one was pushed */
};

struct alloc {
	CUdeviceptr ptr;
	size_t bytes;
	CUcontext ctx;
	struct alloc *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static __thread CUcontext current;
static struct alloc *allocs;
static size_t total = (size_t)1 << 30;
static size_t used;
static CUdeviceptr next_ptr = 0x7f0000000000ull;
static int initialized;

CUresult cuInit(unsigned int flags) {
	const char *s = getenv("EBB_FAKE_CUDA_TOTAL");
	if (flags != 0)
		return CUDA_ERROR_INVALID_VALUE;
	if (s && *s)
		total = (size_t)strtoull(s, NULL, 10);
	initialized = 1;
	return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *v) {
	*v = CUDA_VERSION;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *n) {
	if (!initialized)
		return CUDA_ERROR_NOT_INITIALIZED;
	*n = 1;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *d, int ordinal) {
	if (!initialized)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (ordinal != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*d = 0;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
	if (d != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	snprintf(name, (size_t)len, "ebb fake GPU");
	return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem(size_t *bytes, CUdevice d) {
	if (d != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*bytes = total;
	return CUDA_SUCCESS;
}

static int live(CUcontext c) { return c && c->magic == MAGIC && c->alive; }

CUresult cuCtxCreate(CUcontext *pctx, unsigned int flags, CUdevice d) {
	CUcontext c;
	(void)flags;
	if (d != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	pthread_mutex_lock(&mu);
	if (used + CTX_OVERHEAD > total) {
		pthread_mutex_unlock(&mu);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	used += CTX_OVERHEAD;
	pthread_mutex_unlock(&mu);
	c = calloc(1, sizeof *c);
	c->magic = MAGIC;
	c->alive = 1;
	c->prev = current;
	current = c;
	*pctx = c;
	return CUDA_SUCCESS;
}

CUresult cuCtxPopCurrent(CUcontext *pctx) {
	if (!current)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (pctx)
		*pctx = current;
	current = current->prev;
	return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext c) {
	if (c && !live(c))
		return CUDA_ERROR_INVALID_CONTEXT;
	current = c;
	return CUDA_SUCCESS;
}

CUresult cuCtxDestroy(CUcontext c) {
	struct alloc **p;
	if (!live(c))
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&mu);
	for (p = &allocs; *p;) {
		if ((*p)->ctx == c) {
			struct alloc *a = *p;
			used -= a->bytes;
			*p = a->next;
			free(a);
		} else {
			p = &(*p)->next;
		}
	}
	used -= CTX_OVERHEAD;
	c->alive = 0; /* never freed: a stale handle must stay recognisable */
	pthread_mutex_unlock(&mu);
	if (current == c)
		current = c->prev;
	return CUDA_SUCCESS;
}

CUresult cuMemGetInfo(size_t *free_, size_t *total_) {
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&mu);
	*free_ = total - used;
	*total_ = total;
	pthread_mutex_unlock(&mu);
	return CUDA_SUCCESS;
}

CUresult cuMemAlloc(CUdeviceptr *dptr, size_t bytes) {
	struct alloc *a;
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	if (bytes == 0)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&mu);
	if (bytes > total - used) {
		pthread_mutex_unlock(&mu);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	a = calloc(1, sizeof *a);
	a->ptr = next_ptr;
	a->bytes = bytes;
	a->ctx = current;
	a->next = allocs;
	allocs = a;
	used += bytes;
	next_ptr += (bytes + 4095) & ~(CUdeviceptr)4095;
	*dptr = a->ptr;
	pthread_mutex_unlock(&mu);
	return CUDA_SUCCESS;
}

CUresult cuMemFree(CUdeviceptr dptr) {
	struct alloc **p;
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&mu);
	for (p = &allocs; *p; p = &(*p)->next) {
		if ((*p)->ptr == dptr && (*p)->ctx == current) {
			struct alloc *a = *p;
			used -= a->bytes;
			*p = a->next;
			free(a);
			pthread_mutex_unlock(&mu);
			return CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&mu);
	return CUDA_ERROR_INVALID_VALUE;
}
