"""Import-time stand-in for huggingface_hub (not installed here): diffusers and transformers
import many names from it, but a pipeline loaded from a local folder calls none of the network
ones. Every unknown name is a class whose instances do nothing; anything that would reach the
hub raises, so a silent download can never happen."""
import re
import sys
import types

__version__ = "0.17.3"


class _Unavailable(Exception):
    pass


def _hub_call(*a, **k):
    raise _Unavailable("huggingface_hub is a stub: only local model folders can be loaded")


_HUB_FUNCTIONS = ["hf_hub_download", "snapshot_download", "model_info", "create_repo", "create_branch",
                  "create_commit", "upload_folder", "cached_download", "hf_hub_url", "get_hf_file_metadata",
                  "list_repo_files", "get_full_repo_name", "http_get"]


class _Module(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        if name in _HUB_FUNCTIONS:
            return _hub_call
        if name.endswith('Error'):
            v = type(name, (_Unavailable,), {})
        else:
            v = type(name, (), {'__init__': lambda self, *a, **k: None})
        setattr(self, name, v)
        return v


def _install(name):
    mod = sys.modules.get(name)
    if not isinstance(mod, _Module):
        mod = _Module(name)
        mod.__path__ = []
        sys.modules[name] = mod
    return mod


_root = _Module(__name__)
_root.__dict__.update({k: v for k, v in globals().items() if k in ('__version__', '__path__', '__file__')})
sys.modules[__name__] = _root
for _sub in ['utils', 'constants', 'file_download', 'utils.logging']:
    setattr(_root, _sub.split('.')[0], _install(__name__ + '.' + _sub.split('.')[0]))
    _install(__name__ + '.' + _sub)
_c = sys.modules[__name__ + '.constants']
_c.HUGGINGFACE_HUB_CACHE = _c.HF_HUB_CACHE = '/nonexistent/hf-cache'
_c.hf_cache_home = '/nonexistent/hf-home'
_c.HF_HUB_OFFLINE = True
_c.HUGGINGFACE_CO_URL_TEMPLATE = 'https://unreachable/{repo_id}/resolve/{revision}/{filename}'
_c.ENDPOINT = 'https://unreachable'
_root._CACHED_NO_EXIST = object()
_root.try_to_load_from_cache = lambda *a, **k: None
sys.modules[__name__ + '.file_download'].REGEX_COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")
_u = sys.modules[__name__ + '.utils']
_u.is_jinja_available = lambda: False
_u.build_hf_headers = lambda *a, **k: {}
_u.hf_raise_for_status = lambda *a, **k: None
_u.disable_progress_bars = lambda: None
_u.enable_progress_bars = lambda: None
_u.are_progress_bars_disabled = lambda: True
_u.validate_hf_hub_args = lambda f: f
_u.insecure_hashlib = __import__('hashlib')
