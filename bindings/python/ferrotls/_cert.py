"""The stdlib's getpeercert() dictionary, built from DER with `cryptography`."""

from __future__ import annotations

import ipaddress

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Where cryptography's OID names differ from OpenSSL's long names (which the stdlib uses).
_NAME_FIXUPS = {
    "2.5.4.45": "x500UniqueIdentifier",
    "0.9.2342.19200300.100.1.1": "userId",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionCountryName",
    "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionStateOrProvinceName",
    "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionLocalityName",
}


def _oid_name(oid) -> str:
    dotted = oid.dotted_string
    if dotted in _NAME_FIXUPS:
        return _NAME_FIXUPS[dotted]
    name = getattr(oid, "_name", None)
    return dotted if not name or name == "Unknown OID" else name


def _value(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _name(name) -> tuple:
    return tuple(tuple((_oid_name(a.oid), _value(a.value)) for a in rdn) for rdn in name.rdns)


def _time(dt) -> str:
    return "%s %2d %02d:%02d:%02d %d GMT" % (
        _MONTHS[dt.month - 1], dt.day, dt.hour, dt.minute, dt.second, dt.year)


def _serial(n: int) -> str:
    sign = "-" if n < 0 else ""
    h = "%X" % abs(n)
    if len(h) % 2:
        h = "0" + h
    return sign + h


def _ip(addr) -> str:
    if isinstance(addr, ipaddress.IPv6Address):
        # OpenSSL-style as the stdlib prints it: eight uppercase groups, no "::" compression.
        return ":".join("%X" % int(g, 16) for g in addr.exploded.split(":"))
    return str(addr)


def _general_names(names) -> tuple:
    from cryptography import x509

    out = []
    for gn in names:
        if isinstance(gn, x509.DNSName):
            out.append(("DNS", gn.value))
        elif isinstance(gn, x509.IPAddress):
            out.append(("IP Address", _ip(gn.value)))
        elif isinstance(gn, x509.RFC822Name):
            out.append(("email", gn.value))
        elif isinstance(gn, x509.UniformResourceIdentifier):
            out.append(("URI", gn.value))
        elif isinstance(gn, x509.DirectoryName):
            out.append(("DirName", _name(gn.value)))
        elif isinstance(gn, x509.RegisteredID):
            out.append(("Registered ID", gn.value.dotted_string))
        else:
            out.append(("othername", "<unsupported>"))
    return tuple(out)


def decode(der: bytes) -> dict:
    """Decode a DER certificate into the dictionary shape of ``ssl.SSLSocket.getpeercert()``."""
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

    cert = x509.load_der_x509_certificate(der)
    before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before
    after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
    d: dict = {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _serial(cert.serial_number),
        "notBefore": _time(before),
        "notAfter": _time(after),
    }
    exts = cert.extensions
    try:
        san = exts.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        d["subjectAltName"] = _general_names(san)
    except x509.ExtensionNotFound:
        pass
    try:
        aia = exts.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
        ocsp = tuple(a.access_location.value for a in aia
                     if a.access_method == AuthorityInformationAccessOID.OCSP
                     and isinstance(a.access_location, x509.UniformResourceIdentifier))
        issuers = tuple(a.access_location.value for a in aia
                        if a.access_method == AuthorityInformationAccessOID.CA_ISSUERS
                        and isinstance(a.access_location, x509.UniformResourceIdentifier))
        if ocsp:
            d["OCSP"] = ocsp
        if issuers:
            d["caIssuers"] = issuers
    except x509.ExtensionNotFound:
        pass
    try:
        cdp = exts.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
        uris = tuple(n.value for dp in cdp for n in (dp.full_name or ())
                     if isinstance(n, x509.UniformResourceIdentifier))
        if uris:
            d["crlDistributionPoints"] = uris
    except x509.ExtensionNotFound:
        pass
    return d
