<?xml version="1.0" encoding="utf-8"?>
<!--
  Shared templates for cwsage stylesheets. Stylesheets read the canonical XML described in
  tasks/canonical.py and never do money arithmetic: amounts are copied as the exact decimal
  text ConnectWise sent, with the sign removed where Sage wants positive values. Rounding is
  Sage's job (and the replica's, in tasks/sage50/money.py).
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">

  <xsl:variable name="upper" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"/>
  <xsl:variable name="lower" select="'abcdefghijklmnopqrstuvwxyz'"/>

  <!-- Mapping tables from pipelines.yaml: key('map', 'tax_codes|T1') -->
  <xsl:key name="map" match="/cwsage/mappings/map/entry" use="concat(../@name, '|', @key)"/>

  <!-- A single mapping value, e.g. default_stock_code -->
  <xsl:template name="setting">
    <xsl:param name="name"/>
    <xsl:value-of select="/cwsage/mappings/value[@name = $name]"/>
  </xsl:template>

  <!-- Look a code up in a mapping table; empty when unmapped -->
  <xsl:template name="lookup">
    <xsl:param name="table"/>
    <xsl:param name="code"/>
    <xsl:value-of select="key('map', concat($table, '|', normalize-space($code)))"/>
  </xsl:template>

  <!-- Text for a Sage field: line breaks and tabs become spaces, runs of spaces collapse,
       cut to $max characters (Sage's limit is in characters, not bytes), at a word boundary
       when there is one. -->
  <xsl:template name="text">
    <xsl:param name="value"/>
    <xsl:param name="max" select="60"/>
    <xsl:call-template name="head">
      <xsl:with-param name="flat" select="normalize-space(translate($value, '&#13;&#10;&#9;', '   '))"/>
      <xsl:with-param name="max" select="$max"/>
    </xsl:call-template>
  </xsl:template>

  <!-- The text that did not fit in the first field, cut the same way, for a second field -->
  <xsl:template name="text-rest">
    <xsl:param name="value"/>
    <xsl:param name="max" select="60"/>
    <xsl:variable name="flat" select="normalize-space(translate($value, '&#13;&#10;&#9;', '   '))"/>
    <xsl:variable name="first">
      <xsl:call-template name="head">
        <xsl:with-param name="flat" select="$flat"/>
        <xsl:with-param name="max" select="$max"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:call-template name="head">
      <xsl:with-param name="flat" select="normalize-space(substring($flat, string-length($first) + 1))"/>
      <xsl:with-param name="max" select="$max"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="head">
    <xsl:param name="flat"/>
    <xsl:param name="max"/>
    <xsl:choose>
      <xsl:when test="string-length($flat) &lt;= $max"><xsl:value-of select="$flat"/></xsl:when>
      <xsl:otherwise>
        <xsl:variable name="words">
          <xsl:call-template name="before-last-space">
            <xsl:with-param name="s" select="substring($flat, 1, $max + 1)"/>
          </xsl:call-template>
        </xsl:variable>
        <xsl:choose>
          <xsl:when test="string-length($words) &gt; 0"><xsl:value-of select="$words"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="substring($flat, 1, $max)"/></xsl:otherwise>
        </xsl:choose>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Everything before the last space of $s (empty when it has none) -->
  <xsl:template name="before-last-space">
    <xsl:param name="s"/>
    <xsl:if test="contains($s, ' ')">
      <xsl:value-of select="substring-before($s, ' ')"/>
      <xsl:if test="contains(substring-after($s, ' '), ' ')">
        <xsl:text> </xsl:text>
        <xsl:call-template name="before-last-space">
          <xsl:with-param name="s" select="substring-after($s, ' ')"/>
        </xsl:call-template>
      </xsl:if>
    </xsl:if>
  </xsl:template>

  <!-- Absolute value of a decimal, done on the text so no digit is lost -->
  <xsl:template name="abs">
    <xsl:param name="value"/>
    <xsl:value-of select="translate(normalize-space($value), '-', '')"/>
  </xsl:template>

  <!-- A money amount as Sage wants it: positive, two decimals (the input has at most two) -->
  <xsl:template name="amount">
    <xsl:param name="value"/>
    <xsl:value-of select="format-number(translate(normalize-space($value), '-', ''), '0.00')"/>
  </xsl:template>

  <xsl:template name="upper">
    <xsl:param name="value"/>
    <xsl:value-of select="translate(normalize-space($value), $lower, $upper)"/>
  </xsl:template>

  <!-- A Zynk date (yyyy-MM-ddT00:00:00) from ISO with or without zone, or M/D/YYYY h:mm:ss AM -->
  <xsl:template name="date">
    <xsl:param name="value"/>
    <xsl:variable name="v" select="normalize-space($value)"/>
    <xsl:choose>
      <xsl:when test="$v = ''"/>
      <xsl:when test="substring($v, 5, 1) = '-'">
        <xsl:value-of select="concat(substring($v, 1, 10), 'T00:00:00')"/>
      </xsl:when>
      <xsl:when test="contains($v, '/')">
        <xsl:variable name="m" select="substring-before($v, '/')"/>
        <xsl:variable name="rest" select="substring-after($v, '/')"/>
        <xsl:variable name="d" select="substring-before($rest, '/')"/>
        <xsl:variable name="y" select="substring(substring-after($rest, '/'), 1, 4)"/>
        <xsl:value-of select="concat($y, '-', format-number($m, '00'), '-', format-number($d, '00'), 'T00:00:00')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$v"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- A Sage address block from a ConnectWise company record -->
  <xsl:template name="address">
    <xsl:param name="company"/>
    <xsl:param name="name"/>
    <xsl:if test="$name != ''">
      <Company><xsl:call-template name="text"><xsl:with-param name="value" select="$name"/></xsl:call-template></Company>
    </xsl:if>
    <Address1><xsl:call-template name="text"><xsl:with-param name="value" select="$company/addressLine1"/></xsl:call-template></Address1>
    <Address2><xsl:call-template name="text"><xsl:with-param name="value" select="$company/addressLine2"/></xsl:call-template></Address2>
    <Town><xsl:call-template name="text"><xsl:with-param name="value" select="$company/city"/></xsl:call-template></Town>
    <County><xsl:call-template name="text"><xsl:with-param name="value" select="$company/state"/></xsl:call-template></County>
    <Postcode><xsl:call-template name="text"><xsl:with-param name="value" select="$company/zip"/></xsl:call-template></Postcode>
  </xsl:template>

</xsl:stylesheet>
