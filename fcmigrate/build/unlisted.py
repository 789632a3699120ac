"""Modules that installed packages import without listing the distribution that provides them.

Flask-Babel 0.12.2 imports ``pytz`` but lists only Babel, which required pytz when that
release came out and no longer does: with today's Babel, nothing installs pytz, and the app
fails at import, as it would after ``pip install`` anywhere. Old packages do the same with
``six``, ``simplejson`` or ``dateutil``, which a dependency of theirs used to bring.
:func:`provider_of` names the distribution that provides such a module, so that the build can
install it too and check the import again (:func:`fcmigrate.build.migrate._check_import`).

:data:`DISTRIBUTIONS` is also what ``fcmigrate doctor`` knows of import names that differ from
their distribution's name (:mod:`fcmigrate.doctor.deps`).
"""

from __future__ import annotations

__all__ = ["DISTRIBUTIONS", "provider_of"]

#: Import names whose distribution on PyPI is named otherwise.
DISTRIBUTIONS = {
    "Crypto": "pycryptodome",
    "MySQLdb": "mysqlclient",
    "OpenSSL": "pyOpenSSL",
    "PIL": "Pillow",
    "attr": "attrs",
    "bs4": "beautifulsoup4",
    "cv2": "opencv-python",
    "dateutil": "python-dateutil",
    "dns": "dnspython",
    "dotenv": "python-dotenv",
    "git": "GitPython",
    "jose": "python-jose",
    "jwt": "PyJWT",
    "magic": "python-magic",
    "memcache": "python-memcached",
    "psycopg2": "psycopg2-binary",
    "serial": "pyserial",
    "sklearn": "scikit-learn",
    "slugify": "python-slugify",
    "socks": "PySocks",
    "yaml": "PyYAML",
    "zmq": "pyzmq",
}

#: Modules of Python 2's standard library, and of Python 3's that later releases removed: a
#: package importing one was written for another Python, and a project of the same name on
#: PyPI, if any, is not that module.
_STANDARD_ONCE = frozenset(
    {
        # Python 2
        "BaseHTTPServer",
        "ConfigParser",
        "Cookie",
        "HTMLParser",
        "Queue",
        "SimpleHTTPServer",
        "SocketServer",
        "StringIO",
        "Tkinter",
        "UserDict",
        "__builtin__",
        "cPickle",
        "cStringIO",
        "commands",
        "cookielib",
        "copy_reg",
        "exceptions",
        "htmlentitydefs",
        "httplib",
        "md5",
        "new",
        "sets",
        "sha",
        "thread",
        "urllib2",
        "urlparse",
        "xmlrpclib",
        # removed in Python 3.12 and 3.13
        "aifc",
        "asynchat",
        "asyncore",
        "audioop",
        "cgi",
        "cgitb",
        "chunk",
        "crypt",
        "distutils",
        "imghdr",
        "imp",
        "lib2to3",
        "mailcap",
        "msilib",
        "nis",
        "nntplib",
        "ossaudiodev",
        "pipes",
        "smtpd",
        "sndhdr",
        "spwd",
        "sunau",
        "telnetlib",
        "uu",
        "xdrlib",
    }
)


def provider_of(module: str) -> str | None:
    """The distribution to install for top-level ``module``: the one :data:`DISTRIBUTIONS`
    names, else the PyPI project of the same name, if PyPI has one with a release.

    ``None`` offline (``UV_OFFLINE``, ``UV_NO_INDEX``), for a module of the standard library
    (today's or an older Python's), and when PyPI cannot be asked or has no such project.
    """
    import sys

    from fcmigrate.build.apart import _offline, _releases

    top = module.partition(".")[0]
    if not top.isidentifier() or top in _STANDARD_ONCE or top in sys.stdlib_module_names:
        return None
    if _offline():
        return None
    if top in DISTRIBUTIONS:
        return DISTRIBUTIONS[top]
    releases = _releases(top)
    if not releases or not any(isinstance(files, list) and files for files in releases.values()):
        return None
    return top
