#!/usr/bin/env python3
"""Writes the golden input mails (*.eml) in this folder.

The mails are hand-written in the styles of common clients; only the binary
attachments (small PDF, DOCX, ODT, Pages, PNG) are generated here so that the
sniffer sees real ZIP / PDF / PNG bytes. Run once; the .eml files are kept in
git and the expected models (*.json) come from
RAPPORT_UPDATE_GOLDEN=1 build-mime/mime_tests --gtest_filter='Golden.*'.
"""
import base64, io, os, quopri, zipfile, zlib, struct

HERE = os.path.dirname(os.path.abspath(__file__))


def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def pdf():
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n") * 20


def zipped(entries, first_stored=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if first_stored:
            z.writestr(zipfile.ZipInfo(first_stored[0]), first_stored[1], compress_type=zipfile.ZIP_STORED)
        for name, data in entries:
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def docx():
    return zipped([("[Content_Types].xml", "<Types/>" * 40), ("_rels/.rels", "<Relationships/>"),
                   ("word/document.xml", "<w:document>Lebenslauf</w:document>" * 30)])


def odt():
    return zipped([("content.xml", "<office:document-content/>" * 30), ("META-INF/manifest.xml", "<m/>")],
                  first_stored=("mimetype", "application/vnd.oasis.opendocument.text"))


def pages():
    return zipped([("Index/Document.iwa", os.urandom(300)), ("Metadata/Properties.plist", "<plist/>")])


def png():
    raw = b"\x00\xff\x00\x00"
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def qp(text, charset="utf-8"):
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def write(name, text, crlf=False, charset="utf-8"):
    data = text.encode(charset)
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# 1. Thunderbird: format=flowed, 8bit UTF-8, RFC 2231 file name, LF.
write("thunderbird-flowed.eml", f"""Message-ID: <3f1c0a52-7d1e-4b8e-9a57-0c1f4e2b9d11@gmail.com>
Date: Tue, 4 Mar 2025 10:15:02 +0000
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: en-GB
To: "Shah, Priya" <priya.shah@halden-logistics.co.uk>
From: Jake Turner <jake.turner@gmail.com>
Subject: Warehouse Team Leader - application (ref HL-0419)
Content-Type: multipart/mixed; boundary="------------x8Qm2TzN0cWvJ4kR1sYbL5aP"

This is a multi-part message in MIME format.
--------------x8Qm2TzN0cWvJ4kR1sYbL5aP
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Dear Ms Shah,

I'm applying for the Warehouse Team Leader post at Halden's Daventry site 
that was advertised on your careers page last week. I have spent four 
years at a parcel hub in Northampton – the last eighteen months as a 
shift supervisor.

 From March I can start at two weeks' notice.

Kind regards,
Jake

-- 
Jake Turner
07700 900123

--------------x8Qm2TzN0cWvJ4kR1sYbL5aP
Content-Type: application/pdf; name="CV_Jake_Turner_2025.pdf"
Content-Disposition: attachment;
 filename*0*=UTF-8''%43%56%5F%4A%61%6B%65%5F%54%75%72%6E%65%72%5F;
 filename*1*=%32%30%32%35%2E%70%64%66
Content-Transfer-Encoding: base64

{b64(pdf())}

--------------x8Qm2TzN0cWvJ4kR1sYbL5aP--
""")

# 2. Gmail: mixed > alternative (QP), DOCX attachment, CRLF.
gm_plain = ("Hi Helen,\n\nThanks for chatting to me at the Pellham open evening on Thursday. As promised, "
            "I'm applying for the Evening Shift Supervisor post – my CV is attached.\n\nBest,\nDaniel\n")
gm_html = ('<div dir="ltr"><div>Hi Helen,</div><div><br></div><div>Thanks for chatting to me at the Pellham '
           'open evening on Thursday. As promised, I&#39;m applying for the Evening Shift Supervisor post – '
           'my CV is attached.</div><div><br></div><div>Best,</div><div>Daniel</div></div>\n')
write("gmail-alternative.eml", f"""MIME-Version: 1.0
Date: Wed, 12 Mar 2025 18:40:11 +0000
Message-ID: <CAF3k9QxZ=8pL2mN7vR4tYc0wH5sJ1dG6bE9aU2iK3oT4@mail.gmail.com>
Subject: Evening Shift Supervisor =?UTF-8?Q?=E2=80=93_Pellham_contact_centre?=
From: Daniel Okoro <dan.okoro92@gmail.com>
To: Helen Ward <helen.ward@pellham.co.uk>
Content-Type: multipart/mixed; boundary="000000000000a1b2c3062f9d8e7f"

--000000000000a1b2c3062f9d8e7f
Content-Type: multipart/alternative; boundary="000000000000a1b2c1062f9d8e7d"

--000000000000a1b2c1062f9d8e7d
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp(gm_plain)}
--000000000000a1b2c1062f9d8e7d
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp(gm_html)}
--000000000000a1b2c1062f9d8e7d--
--000000000000a1b2c3062f9d8e7f
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;\x20
\tname="Daniel Okoro CV.docx"
Content-Disposition: attachment; filename="Daniel Okoro CV.docx"
Content-Transfer-Encoding: base64
Content-ID: <f_m7x1k2p90>
X-Attachment-Id: f_m7x1k2p90

{b64(docx())}
--000000000000a1b2c3062f9d8e7f--
""", crlf=True)

# 3. Outlook desktop, HTML only: related > html (windows-1252 QP, MsoNormal) + inline PNG.
ol_html = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<!--[if !mso]><style>v\\:* {behavior:url(#default#VML);}
</style><![endif]--><style><!--
/* Font Definitions */
@font-face
	{font-family:"Cambria Math";}
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0cm;
	font-size:11.0pt;
	font-family:"Calibri",sans-serif;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]-->
</head>
<body lang="EN-GB" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">
<div class="WordSection1">
<p class="MsoNormal">Dear Sir/Madam,<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">I would like to apply for the Payroll Administrator vacancy (ref TOL/PA/114) at Tolland\x92s Reading office. I have worked in payroll for three years \x96 running weekly and monthly payrolls for around 900 staff.<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Kind regards,<o:p></o:p></p>
<p class="MsoNormal">Aisha Khan<o:p></o:p></p>
<p class="MsoNormal"><img width="120" height="40" id="Picture_x0020_1" src="cid:image001.png@01DB8F2A.4C5E6D70" alt="logo"><o:p></o:p></p>
</div>
</body>
</html>
"""
write("outlook-html.eml", f"""From: Aisha Khan <aisha.khan@outlook.com>
To: "recruitment@tolland.co.uk" <recruitment@tolland.co.uk>
Subject: Payroll Administrator vacancy =?windows-1252?Q?=96_ref_TOL/PA/114?=
Thread-Topic: Payroll Administrator vacancy - ref TOL/PA/114
Thread-Index: AdmPKkq2r9cT0n3bQ7u0m2fI1sY6Ag==
Date: Mon, 10 Feb 2025 08:03:44 +0000
Message-ID: <DB9PR08MB6714C3A2F1E0B7D4A5C6E8F9A1B2C@DB9PR08MB6714.eurprd08.prod.outlook.com>
Accept-Language: en-GB, en-US
Content-Language: en-GB
X-MS-Has-Attach: yes
Content-Type: multipart/related;
\tboundary="_004_DB9PR08MB6714C3A2F1E0B7D4A5C6_";
\ttype="text/html"
MIME-Version: 1.0

--_004_DB9PR08MB6714C3A2F1E0B7D4A5C6_
Content-Type: text/html; charset="windows-1252"
Content-Transfer-Encoding: quoted-printable

{quopri.encodestring(ol_html.encode('latin-1')).decode('ascii')}
--_004_DB9PR08MB6714C3A2F1E0B7D4A5C6_
Content-Type: image/png; name="image001.png"
Content-Description: image001.png
Content-Disposition: inline; filename="image001.png"; size=120;
\tcreation-date="Mon, 10 Feb 2025 08:03:44 GMT";
\tmodification-date="Mon, 10 Feb 2025 08:03:44 GMT"
Content-ID: <image001.png@01DB8F2A.4C5E6D70>
Content-Transfer-Encoding: base64

{b64(png())}

--_004_DB9PR08MB6714C3A2F1E0B7D4A5C6_--
""", crlf=True)

apple_text = ("Bonjour Madame Dubois,\n\nVeuillez trouver ci-joint mon CV pour le poste d’assistante "
              "commerciale chez Beaumerle, dont j’ai vu l’annonce sur Indeed.\n\n")
# 4. Apple Mail: text, inline PDF, text again (Apple splits around attachments); QP us-ascii.
write("apple-mail.eml", f"""From: =?utf-8?Q?Chlo=C3=A9_Martin?= <chloe.martin@orange.fr>
Content-Type: multipart/mixed;
\tboundary="Apple-Mail=_121CDF9C-A880-4C69-8D5A-65F633873CE0"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: Candidature =?utf-8?Q?=E2=80=93_assistante_commerciale_=28r=C3=A9f=2E_BM-41=29?=
Date: Tue, 3 Jun 2025 09:02:51 +0200
Message-Id: <8E2B6F1C-3A4D-4E5F-9A0B-1C2D3E4F5A6B@orange.fr>
To: "Dubois, Marie" <m.dubois@beaumerle.fr>
X-Mailer: Apple Mail (2.3774.600.62)


--Apple-Mail=_121CDF9C-A880-4C69-8D5A-65F633873CE0
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
\tcharset=utf-8

{qp(apple_text)}
--Apple-Mail=_121CDF9C-A880-4C69-8D5A-65F633873CE0
Content-Disposition: inline;
\tfilename*=utf-8''CV%20Chlo%C3%A9%20Martin.pdf
Content-Type: application/pdf;
\tx-unix-mode=0644;
\tname="=?utf-8?Q?CV_Chlo=C3=A9_Martin=2Epdf?="
Content-Transfer-Encoding: base64

{b64(pdf())}
--Apple-Mail=_121CDF9C-A880-4C69-8D5A-65F633873CE0
Content-Transfer-Encoding: 7bit
Content-Type: text/plain;
\tcharset=us-ascii


Chloe Martin
06 12 34 56 78
--Apple-Mail=_121CDF9C-A880-4C69-8D5A-65F633873CE0--
""")

# 5. iPhone: alternative, base64 UTF-8 plain and html, "Sent from my iPhone".
ip_plain = "Hi Tom,\n\nRunning ten minutes late for the viewing – start without me if the agent is there.\n\nSent from my iPhone"
ip_html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
           '<body dir="auto">Hi Tom,<div><br></div><div>Running ten minutes late for the viewing – start '
           'without me if the agent is there.<br><br><div dir="ltr">Sent from my iPhone</div></div></body></html>')
write("iphone.eml", f"""Content-Type: multipart/alternative; boundary=Apple-Mail-5D2E1B7A-9C3F-4E8D-B6A1-2F7C9E0D4B3A
Content-Transfer-Encoding: 7bit
From: Owen Jenkins <owen.jenkins@icloud.com>
Mime-Version: 1.0 (1.0)
Date: Sat, 17 May 2025 11:48:09 +0100
Subject: Viewing
Message-Id: <5D2E1B7A-9C3F-4E8D-B6A1-2F7C9E0D4B3A@icloud.com>
To: Tom Hale <tom.hale@btinternet.com>
X-Mailer: iPhone Mail (21E236)


--Apple-Mail-5D2E1B7A-9C3F-4E8D-B6A1-2F7C9E0D4B3A
Content-Type: text/plain;
\tcharset=utf-8
Content-Transfer-Encoding: base64

{b64(ip_plain.encode())}
--Apple-Mail-5D2E1B7A-9C3F-4E8D-B6A1-2F7C9E0D4B3A
Content-Type: text/html;
\tcharset=utf-8
Content-Transfer-Encoding: base64

{b64(ip_html.encode())}
--Apple-Mail-5D2E1B7A-9C3F-4E8D-B6A1-2F7C9E0D4B3A--
""")

# 6. Mutt: plain ISO-8859-1 8bit reply, quoted text, inline disposition, folded References.
write("mutt-reply.eml", """Date: Fri, 21 Mar 2025 22:05:13 +0100
From: Lukas =?iso-8859-1?Q?Sch=E4fer?= <lukas.schaefer@web.de>
To: Max Bauer <max.bauer@posteo.de>
Subject: Re: Grillen am Samstag?
Message-ID: <Z92a8xYbQ3kLm0pT@thinkpad.fritz.box>
References: <a1b2c3d4e5@posteo.de>
 <f6a7b8c9d0@web.de>
In-Reply-To: <f6a7b8c9d0@web.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Disposition: inline
Content-Transfer-Encoding: 8bit
User-Agent: Mutt/2.2.12 (2023-09-09)

Hi Max,

ich bringe W\xfcrstchen und den Nudelsalat mit.

On Fri, Mar 21, 2025 at 09:12:40PM +0100, Max Bauer wrote:
> steht das Grillen am Samstag noch?
>> Ja, ab 18 Uhr.

Gr\xfc\xdfe,
Lukas
""", charset="latin-1")

# 7. German, Outlook on the web: alternative, ISO-8859-15 QP, RFC 2047 name= (Outlook style).
de_plain = "Sehr geehrte Frau Becker,\n\nanbei meine Bewerbungsunterlagen für die Stelle als Fachlagerist - die Zeugnisse folgen gern.\nPreis der Schulung: 250 €.\n\nMit freundlichen Grüßen\nLukas Müller\n"
de_html = "<div style=\"font-family:Calibri\">Sehr geehrte Frau Becker,<br><br>anbei meine Bewerbungsunterlagen f&uuml;r die Stelle als Fachlagerist &ndash; die Zeugnisse folgen gern.<br>Preis der Schulung: 250 &euro;.<br><br>Mit freundlichen Gr&uuml;&szlig;en<br>Lukas M&uuml;ller</div>\n"
write("german-outlook-web.eml", f"""From: =?iso-8859-1?Q?Lukas_M=FCller?= <lukas.mueller@outlook.de>
To: =?iso-8859-1?Q?Becker=2C_J=FCrgen?= <j.becker@rheinfeld-logistik.de>
Subject: =?iso-8859-1?Q?Bewerbung_als_Fachlagerist_=28Kennziffer_2025-117=29_?=
 =?iso-8859-1?Q?f=FCr_Rheinfeld?=
Date: Thu, 6 Mar 2025 07:51:30 +0000
Message-ID: <AM0PR10MB3281E7C1D2A3B4C5D6E7F8091A2B3@AM0PR10MB3281.EURPRD10.PROD.OUTLOOK.COM>
Content-Type: multipart/mixed;
\tboundary="_002_AM0PR10MB3281E7C1_"
MIME-Version: 1.0

--_002_AM0PR10MB3281E7C1_
Content-Type: multipart/alternative;
\tboundary="_000_AM0PR10MB3281E7C1_"

--_000_AM0PR10MB3281E7C1_
Content-Type: text/plain; charset="iso-8859-15"
Content-Transfer-Encoding: quoted-printable

{qp(de_plain, "iso-8859-15")}
--_000_AM0PR10MB3281E7C1_
Content-Type: text/html; charset="iso-8859-15"
Content-Transfer-Encoding: quoted-printable

{qp(de_html, "iso-8859-15")}
--_000_AM0PR10MB3281E7C1_--

--_002_AM0PR10MB3281E7C1_
Content-Type: application/pdf; name="=?iso-8859-1?Q?Lebenslauf_M=FCller.pdf?="
Content-Description: =?iso-8859-1?Q?Lebenslauf_M=FCller.pdf?=
Content-Disposition: attachment; filename="=?iso-8859-1?Q?Lebenslauf_M=FCller.pdf?=";
\tsize=1780; creation-date="Thu, 06 Mar 2025 07:50:58 GMT"
Content-Transfer-Encoding: base64

{b64(pdf())}

--_002_AM0PR10MB3281E7C1_--
""", crlf=True)

# 8. French, Windows Live Mail style: windows-1252 8bit plain, ODT attachment.
write("french-windows-1252.eml", f"""From: "Chloé Martin" <chloe.martin@orange.fr>
To: <rh@valcourt.fr>
Subject: =?windows-1252?Q?Candidature_=96_assistante_administrative?=
Date: Mon, 2 Jun 2025 14:20:00 +0200
MIME-Version: 1.0
Content-Type: multipart/mixed;
\tboundary="----=_NextPart_000_0012_01DB7A3C.5E6F7A80"
X-Mailer: Microsoft Windows Live Mail 16.4.3528.331

This is a multi-part message in MIME format.

------=_NextPart_000_0012_01DB7A3C.5E6F7A80
Content-Type: text/plain;
\tcharset="windows-1252"
Content-Transfer-Encoding: 8bit

Madame, Monsieur,

Je vous adresse ma candidature au poste d\x92assistante administrative. Mon exp\xe9rience \x96 trois ans en cabinet \x96 correspond \xe0 vos attentes.

Cordialement,
Chlo\xe9 Martin

------=_NextPart_000_0012_01DB7A3C.5E6F7A80
Content-Type: application/vnd.oasis.opendocument.text;
\tname="CV_Chloe_Martin.odt"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
\tfilename="CV_Chloe_Martin.odt"

{b64(odt())}

------=_NextPart_000_0012_01DB7A3C.5E6F7A80--
""".replace("Chloé Martin\" <", "Chlo\xe9 Martin\" <"), charset="latin-1")

# 9. Spanish forward as attachment (message/rfc822) with its own attachment.
inner = f"""From: "Ruiz, Pablo" <pablo.ruiz@solmar.es>
To: =?utf-8?B?Sm9zw6kgR2FyY8OtYQ==?= <jose.garcia.r@hotmail.es>
Subject: =?utf-8?B?T2ZlcnRhOiBhdXhpbGlhciBhZG1pbmlzdHJhdGl2bw==?=
Date: Wed, 9 Apr 2025 12:00:00 +0200
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="inner-b"

--inner-b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Estimado José:

Adjunto la descripción del puesto.

--inner-b
Content-Type: application/pdf; name="oferta.pdf"
Content-Disposition: attachment; filename="oferta.pdf"
Content-Transfer-Encoding: base64

{b64(pdf())}
--inner-b--
"""
write("spanish-forward-attached.eml", f"""From: =?utf-8?B?Sm9zw6kgR2FyY8OtYQ==?= <jose.garcia.r@hotmail.es>
To: =?utf-8?Q?Luc=C3=ADa_Garc=C3=ADa?= <lucia.garcia@gmail.com>
Subject: =?utf-8?B?Rnc6IE9mZXJ0YTogYXV4aWxpYXIgYWRtaW5pc3RyYXRpdm8=?=
Date: Wed, 9 Apr 2025 18:30:00 +0200
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer-b"

--outer-b
Content-Type: text/plain; charset=utf-8; format=flowed
Content-Transfer-Encoding: 8bit

Hola Lucía, mira esta oferta que me ha llegado. ¿Qué te 
parece?

--outer-b
Content-Type: message/rfc822
Content-Disposition: attachment; filename="Oferta.eml"

{inner}
--outer-b--
""")

# 10. Polish: ISO-8859-2 base64 text, group recipients, Pages attachment, quoted-printable header words.
pl_text = "Dzień dobry,\n\nzwracam się z prośbą o rozważenie mojej kandydatury na stanowisko księgowej.\nŻyczę miłego dnia,\nKatarzyna Nowak\n"
write("polish-iso-8859-2.eml", f"""From: =?ISO-8859-2?Q?Katarzyna_Nowak?= <katarzyna.nowak@wp.pl>
To: Rekrutacja: "Kowalska, Anna" <anna.kowalska@baltimex.pl>, kadry@baltimex.pl;
Cc: (biuro) biuro@baltimex.pl
Subject: =?ISO-8859-2?Q?Kandydatura_na_stanowisko_ksi=EAgowej?=
Date: Tue, 13 May 2025 08:30:00 +0200 (CEST)
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_wp_4f2a"

--=_wp_4f2a
Content-Type: text/plain; charset=ISO-8859-2
Content-Transfer-Encoding: base64

{b64(pl_text.encode('iso-8859-2'))}
--=_wp_4f2a
Content-Type: application/octet-stream; name="=?ISO-8859-2?B?{base64.b64encode("Życiorys.pages".encode("iso-8859-2")).decode()}?="
Content-Disposition: attachment
Content-Transfer-Encoding: base64

{b64(pages())}
--=_wp_4f2a--
""")

# 11. Thunderbird HTML reply with a cite blockquote (HTML only).
write("thunderbird-html-reply.eml", """Message-ID: <7a2f9c1e-0b3d-4e5f-8a6b-9c0d1e2f3a4b@posteo.de>
Date: Sun, 23 Mar 2025 20:01:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: Plot 17 - rent invoice 2025/26
To: allotments@example-council.gov.uk
References: <inv-2025-26-17@example-council.gov.uk>
In-Reply-To: <inv-2025-26-17@example-council.gov.uk>
From: Ken Adams <ken.adams@posteo.de>
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 7bit

<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="content-type" content="text/html; charset=UTF-8">
  </head>
  <body>
    <p>Thank you. I have paid the 2025/26 rent by bank transfer
      today &#8211; reference PLOT17.</p>
    <p>Ken<br>
    </p>
    <div class="moz-cite-prefix">On 20/03/2025 09:14, Allotments wrote:<br>
    </div>
    <blockquote type="cite" cite="mid:inv-2025-26-17@example-council.gov.uk">
      <p>Dear Mr Adams,</p>
      <p>Your rent for plot 17 is &pound;42.00.</p>
    </blockquote>
  </body>
</html>
""")
