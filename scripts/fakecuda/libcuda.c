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
 *   - cuCtxDestroy frees the context's allocations, pinned host memory and
 *     streams;
 *   - device memory holds real bytes (zeroed), so copies are real: a copy
 *     must lie inside one allocation of the current context, an async copy
 *     happens only when its stream is synchronized (or destroyed), and
 *     cuMemFreeHost takes only what cuMemAllocHost gave.
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
	unsigned char *data; /* the device memory's bytes */
	struct alloc *next;
};

/* A pinned host allocation. */
struct host {
	void *p;
	CUcontext ctx;
	struct host *next;
};

/* A copy waiting on its stream. */
struct op {
	void *host;
	CUdeviceptr dev;
	size_t bytes;
	int to_host;
	struct op *next;
};

struct CUstream_st {
	unsigned magic;
	CUcontext ctx;
	struct op *ops, **tail;
	struct CUstream_st *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static __thread CUcontext current;
static struct alloc *allocs;
static struct host *hosts;
static struct CUstream_st *streams;
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

static void drop_ops(struct CUstream_st *s) {
	while (s->ops) {
		struct op *o = s->ops;
		s->ops = o->next;
		free(o);
	}
	s->tail = &s->ops;
}

CUresult cuCtxDestroy(CUcontext c) {
	struct alloc **p;
	struct host **h;
	struct CUstream_st **s;
	if (!live(c))
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&mu);
	for (p = &allocs; *p;) {
		if ((*p)->ctx == c) {
			struct alloc *a = *p;
			used -= a->bytes;
			*p = a->next;
			free(a->data);
			free(a);
		} else {
			p = &(*p)->next;
		}
	}
	for (h = &hosts; *h;) {
		if ((*h)->ctx == c) {
			struct host *x = *h;
			*h = x->next;
			free(x->p);
			free(x);
		} else {
			h = &(*h)->next;
		}
	}
	for (s = &streams; *s;) {
		if ((*s)->ctx == c) {
			struct CUstream_st *x = *s;
			*s = x->next;
			drop_ops(x);
			x->magic = 0; /* never freed, like a context */
		} else {
			s = &(*s)->next;
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
	a->data = calloc(1, bytes);
	if (!a->data) {
		free(a);
		pthread_mutex_unlock(&mu);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
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
			free(a->data);
			free(a);
			pthread_mutex_unlock(&mu);
			return CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&mu);
	return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemAllocHost(void **pp, size_t bytes) {
	struct host *h;
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	if (bytes == 0)
		return CUDA_ERROR_INVALID_VALUE;
	h = calloc(1, sizeof *h);
	h->p = malloc(bytes);
	if (!h->p) {
		free(h);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	memset(h->p, 0xA5, bytes); /* not zero: a copy that never happened shows */
	h->ctx = current;
	pthread_mutex_lock(&mu);
	h->next = hosts;
	hosts = h;
	pthread_mutex_unlock(&mu);
	*pp = h->p;
	return CUDA_SUCCESS;
}

CUresult cuMemFreeHost(void *p) {
	struct host **h;
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&mu);
	for (h = &hosts; *h; h = &(*h)->next) {
		if ((*h)->p == p && (*h)->ctx == current) {
			struct host *x = *h;
			*h = x->next;
			pthread_mutex_unlock(&mu);
			free(x->p);
			free(x);
			return CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&mu);
	return CUDA_ERROR_INVALID_VALUE;
}

/* device returns the bytes at [dev, dev+bytes) of one of the current
 * context's allocations, or NULL. mu is held. */
static unsigned char *device(CUdeviceptr dev, size_t bytes) {
	struct alloc *a;
	for (a = allocs; a; a = a->next)
		if (a->ctx == current && dev >= a->ptr && dev - a->ptr <= a->bytes && bytes <= a->bytes - (dev - a->ptr))
			return a->data + (dev - a->ptr);
	return NULL;
}

/* copy copies bytes between host and dev now. */
static CUresult copy(void *host, CUdeviceptr dev, size_t bytes, int to_host) {
	unsigned char *d;
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&mu);
	d = device(dev, bytes);
	if (d) {
		if (to_host)
			memcpy(host, d, bytes);
		else
			memcpy(d, host, bytes);
	}
	pthread_mutex_unlock(&mu);
	return d ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t bytes) {
	return copy((void *)src, dst, bytes, 0);
}

CUresult cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t bytes) {
	return copy(dst, src, bytes, 1);
}

static int live_stream(CUstream s) { return s && s->magic == MAGIC && s->ctx == current; }

CUresult cuStreamCreate(CUstream *ps, unsigned int flags) {
	CUstream s;
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	if (flags & ~(unsigned)CU_STREAM_NON_BLOCKING)
		return CUDA_ERROR_INVALID_VALUE;
	s = calloc(1, sizeof *s);
	s->magic = MAGIC;
	s->ctx = current;
	s->tail = &s->ops;
	pthread_mutex_lock(&mu);
	s->next = streams;
	streams = s;
	pthread_mutex_unlock(&mu);
	*ps = s;
	return CUDA_SUCCESS;
}

/* enqueue checks an async copy now and queues it on s (the NULL stream
 * copies at once). */
static CUresult enqueue(void *host, CUdeviceptr dev, size_t bytes, int to_host, CUstream s) {
	struct op *o;
	int ok;
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	if (!s)
		return copy(host, dev, bytes, to_host);
	if (!live_stream(s))
		return CUDA_ERROR_INVALID_HANDLE;
	pthread_mutex_lock(&mu);
	ok = device(dev, bytes) != NULL;
	pthread_mutex_unlock(&mu);
	if (!ok)
		return CUDA_ERROR_INVALID_VALUE;
	o = calloc(1, sizeof *o);
	o->host = host;
	o->dev = dev;
	o->bytes = bytes;
	o->to_host = to_host;
	*s->tail = o;
	s->tail = &o->next;
	return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t bytes, CUstream s) {
	return enqueue((void *)src, dst, bytes, 0, s);
}

CUresult cuMemcpyDtoHAsync(void *dst, CUdeviceptr src, size_t bytes, CUstream s) {
	return enqueue(dst, src, bytes, 1, s);
}

/* run makes s's queued copies. A copy whose memory was freed meanwhile is
 * an illegal address, as on a GPU. */
static CUresult run(CUstream s) {
	CUresult r = CUDA_SUCCESS;
	struct op *o;
	for (o = s->ops; o; o = o->next)
		if (copy(o->host, o->dev, o->bytes, o->to_host) != CUDA_SUCCESS)
			r = CUDA_ERROR_ILLEGAL_ADDRESS;
	drop_ops(s);
	return r;
}

CUresult cuStreamSynchronize(CUstream s) {
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	if (!s)
		return CUDA_SUCCESS;
	if (!live_stream(s))
		return CUDA_ERROR_INVALID_HANDLE;
	return run(s);
}

CUresult cuStreamDestroy(CUstream s) {
	struct CUstream_st **p;
	if (!live(current))
		return CUDA_ERROR_INVALID_CONTEXT;
	if (!live_stream(s))
		return CUDA_ERROR_INVALID_HANDLE;
	run(s);
	pthread_mutex_lock(&mu);
	for (p = &streams; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	pthread_mutex_unlock(&mu);
	s->magic = 0; /* never freed: a stale handle must stay recognisable */
	return CUDA_SUCCESS;
}
